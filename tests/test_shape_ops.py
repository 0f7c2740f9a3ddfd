"""Shape ops, rearranging, triangles and diagonals: values against numpy, gradients against float64
finite differences on hypothesis shapes (empty and size-1 dims, negative dims), PyTorch's edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import gradgradcheck
from minigrad.testing import arrays, check_grad, tensors

nd_shapes_with_empty = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)
matrices_with_empty = hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=3)


def assert_same(t: mg.Tensor, expected) -> None:
    expected = np.asarray(expected)
    assert t.shape == expected.shape and t.dtype == expected.dtype
    np.testing.assert_array_equal(t.numpy(), expected)


@st.composite
def tensor_and_dim(draw, shapes=nd_shapes_with_empty):
    x = draw(tensors(shapes), label="x")
    return x, draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


def test_squeezing_a_0d_tensor_gives_it_back_as_pytorch():
    x = mg.tensor(3.0, requires_grad=True)
    for dim in (0, -1, None):
        out = x.squeeze(dim)
        assert out.shape == () and out.item() == 3.0
    x.squeeze(0).backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match="out of range"):
        x.squeeze(1)


# ---- moving dims, splitting ------------------------------------------------------------------------


@given(data=st.data())
def test_movedim_unflatten_narrow(data):
    x, dim = data.draw(tensor_and_dim())
    a = x.numpy()
    source = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1), label="source")
    destination = data.draw(st.permutations(range(x.ndim)), label="destination")[: len(source)]
    assert_same(x.movedim(source, destination), np.moveaxis(a, source, destination))
    assert_same(mg.moveaxis(x, source[0], destination[0]), np.moveaxis(a, source[0], destination[0]))
    assert check_grad(lambda t: t.movedim(source, destination), x)
    n = a.shape[dim]
    sizes = (1, n, 1) if data.draw(st.booleans()) else (-1, 1)
    target = a.shape[: dim % a.ndim] + (1, n, 1) + a.shape[dim % a.ndim + 1 :]
    assert x.unflatten(dim, sizes).shape == (
        target if sizes == (1, n, 1) else np.expand_dims(a, dim % a.ndim + 1).shape
    )
    assert check_grad(lambda t: mg.unflatten(t, dim, sizes), x)
    start = data.draw(st.integers(-n, n) if n else st.just(0), label="start")
    length = data.draw(st.integers(0, n - start % max(n, 1) if start < n else 0), label="length")
    begin = start % n if n and start < n else start
    assert_same(x.narrow(dim, start, length), np.take(a, range(begin, begin + length), axis=dim))
    assert check_grad(lambda t: t.narrow(dim, start, length), x)


@given(data=st.data())
def test_split_chunk_unbind(data):
    x, dim = data.draw(tensor_and_dim())
    a, axis = x.numpy(), dim % x.ndim
    n = a.shape[axis]
    size = data.draw(st.integers(1, 4), label="split size")
    pieces = x.split(size, dim)
    assert [p.shape[axis] for p in pieces] == ([size] * (n // size) + [n % size] * bool(n % size) if n else [0])
    assert_same(mg.cat(pieces, dim), a)
    sections = data.draw(st.lists(st.integers(0, n), max_size=3).filter(lambda s: sum(s) <= n), label="sections")
    sections.append(n - sum(sections))
    for p, expected in zip(mg.split(x, sections, dim), np.split(a, np.cumsum(sections)[:-1], axis=axis), strict=True):
        assert_same(p, expected)
    chunks = data.draw(st.integers(1, 4), label="chunks")
    got = x.chunk(chunks, dim)
    expected = np.array_split(a, -(-n // (-(-n // chunks))) if n else chunks, axis=axis)  # torch: ceil-sized pieces
    assert [p.shape for p in got] == [e.shape for e in expected] and len(got) <= chunks
    assert [p.tolist() for p in x.unbind(dim)] == [np.take(a, i, axis=axis).tolist() for i in range(n)]
    assert check_grad(lambda t: mg.cat([p * (i + 1) for i, p in enumerate(t.split(size, dim))], dim), x)
    if n:
        assert check_grad(lambda t: mg.stack([p * (i + 1) for i, p in enumerate(mg.unbind(t, dim))]), x)


def test_chunk_as_pytorch():
    assert [p.tolist() for p in mg.arange(5).chunk(3)] == [[0, 1], [2, 3], [4]]
    assert [p.tolist() for p in mg.arange(6).chunk(4)] == [[0, 1], [2, 3], [4, 5]]  # fewer pieces
    assert [p.shape for p in mg.zeros(0).chunk(3)] == [(0,), (0,), (0,)]
    with pytest.raises(ValueError, match="don't add up"):
        mg.zeros(5).split([2, 2])


@given(data=st.data())
def test_meshgrid(data):
    vectors = [
        data.draw(tensors((data.draw(st.integers(0, 3)),)), label=f"v{i}") for i in range(data.draw(st.integers(1, 3)))
    ]
    for indexing in ("ij", "xy"):
        got = mg.meshgrid(*vectors, indexing=indexing)
        expected = np.meshgrid(*(v.numpy() for v in vectors), indexing=indexing)
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e)
    assert check_grad(lambda *vs: sum((g * (i + 1)).sum() for i, g in enumerate(mg.meshgrid(vs, indexing="xy"))),
                      *vectors)  # fmt: skip


# ---- rearranging ---------------------------------------------------------------------------------


@given(data=st.data())
def test_flip_roll(data):
    x, dim = data.draw(tensor_and_dim())
    a = x.numpy()
    dims = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), unique_by=lambda d: d % x.ndim), label="dims")
    assert_same(x.flip(dims), np.flip(a, tuple(dims)) if dims else a)
    assert check_grad(lambda t: mg.flip(t, dims), x)
    shifts = [data.draw(st.integers(-5, 5)) for _ in dims]
    assert_same(x.roll(shifts, dims), np.roll(a, shifts, tuple(dims)) if dims else a)
    assert_same(mg.roll(x, 2), np.roll(a, 2))
    assert check_grad(lambda t: t.roll(shifts, dims), x)


@given(data=st.data())
def test_repeat_tile_repeat_interleave(data):
    x, dim = data.draw(tensor_and_dim())
    a = x.numpy()
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim + 1), label="sizes")
    assert_same(x.repeat(*sizes), np.tile(a, sizes))
    assert_same(mg.tile(x, sizes[1:]), np.tile(a, sizes[1:]))
    assert check_grad(lambda t: t.repeat(sizes), x)
    times = data.draw(st.integers(0, 3), label="repeats")
    assert_same(x.repeat_interleave(times, dim), np.repeat(a, times, axis=dim))
    assert_same(mg.repeat_interleave(x, times), np.repeat(a, times))
    counts = data.draw(arrays((a.shape[dim],), np.int64, elements=(0, 3)), label="counts")
    assert_same(x.repeat_interleave(mg.tensor(counts), dim), np.repeat(a, counts, axis=dim))
    assert check_grad(lambda t: mg.repeat_interleave(t, mg.tensor(counts), dim), x)
    assert check_grad(lambda t: t.tile((2,)), x)


def test_repeat_interleave_of_counts_alone():
    assert mg.repeat_interleave(mg.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    with pytest.raises(ValueError, match="must not be negative"):
        mg.zeros(2).repeat_interleave(mg.tensor([1, -1]))
    with pytest.raises(ValueError, match="one count per element"):
        mg.zeros(3).repeat_interleave(mg.tensor([1, 2]))


def _numpy_pad(a, pad, mode, value):
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for n, (b, e) in zip(a.shape, widths))
    a = a[crop]
    widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    return np.pad(a, widths, numpy_mode, **({"constant_values": value} if mode == "constant" else {}))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@given(data=st.data())
def test_pad(mode, data):
    x = data.draw(tensors(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)), label="x")
    k = data.draw(st.integers(1, x.ndim), label="padded dims")
    pad = []
    for n in x.shape[::-1][:k]:
        low = -n if mode == "constant" else 0
        high = 3 if mode == "constant" else n - 1 if mode == "reflect" else n
        pad += [data.draw(st.integers(low, high)), data.draw(st.integers(low, high))]
    if mode == "constant":
        assume(all(b + e >= -n for b, e, n in zip(pad[::2], pad[1::2], x.shape[::-1])))
    value = data.draw(st.sampled_from([0.0, -1.5]))
    expected = _numpy_pad(x.numpy(), pad, mode, value)
    got = mg.pad(x, pad, mode, value) if mode == "constant" else mg.nn.functional.pad(x, pad, mode=mode)
    assert_same(got, expected)
    assert check_grad(lambda t: mg.pad(t, pad, mode, value), x)


def test_pad_as_pytorch():
    x = mg.arange(4.0).reshape(1, 4)
    assert mg.pad(x, (2, 1), mode="reflect").tolist() == [[2, 1, 0, 1, 2, 3, 2]]
    assert mg.pad(x, (2, 1), mode="replicate").tolist() == [[0, 0, 0, 1, 2, 3, 3]]
    assert mg.pad(x, (2, 1), mode="circular").tolist() == [[2, 3, 0, 1, 2, 3, 0]]
    assert mg.pad(mg.arange(4.0), (-1, 2), value=7).tolist() == [1, 2, 3, 7, 7]
    assert mg.pad(mg.arange(3), (1, 1), value=2.7).tolist() == [2, 0, 1, 2, 2]  # cast to the input's dtype
    empty = mg.zeros(0, 3, requires_grad=True)
    assert mg.pad(empty, (1, 1, 2, 0)).shape == (2, 5) and mg.pad(empty, (1, 1), mode="replicate").shape == (0, 5)
    mg.pad(empty, (1, 1, 2, 0)).sum().backward()
    assert empty.grad.shape == (0, 3)
    with pytest.raises(ValueError, match=r"reflect padding of dim 1 \(size 4\) must be in \[0, 3\]"):
        mg.pad(x, (4, 1), mode="reflect")
    with pytest.raises(ValueError, match="an even number of ints"):
        mg.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="mode must be"):
        mg.pad(x, (1, 1), mode="mirror")
    assert gradgradcheck(lambda t: mg.pad(t, (1, 2), mode="reflect") ** 2, mg.tensor([[1.0, 2.0, 3.0]]))


# ---- triangles and diagonals ---------------------------------------------------------------------


@given(x=tensors(matrices_with_empty), k=st.integers(-3, 3))
def test_tril_triu(x, k):
    a = x.numpy()
    assert_same(x.tril(k), np.tril(a, k))
    assert_same(mg.triu(x, k), np.triu(a, k))
    assert check_grad(lambda t: t.tril(k) + 2 * t.triu(k), x)


@given(data=st.data())
def test_diagonal_diag_embed_diag(data):
    x = data.draw(tensors(matrices_with_empty), label="x")
    offset = data.draw(st.integers(-3, 3), label="offset")
    dim1, dim2 = data.draw(st.permutations(range(-x.ndim, 0)), label="dims")[:2]
    a = x.numpy()
    assert_same(x.diagonal(offset, dim1, dim2), np.diagonal(a, offset, dim1, dim2))
    assert check_grad(lambda t: mg.diagonal(t, offset, dim1, dim2), x)
    v = x[(0,) * (x.ndim - 1)] if a.size else mg.zeros(0, dtype=x.dtype)
    embedded = mg.diag_embed(v, offset)
    assert_same(embedded, np.diag(v.numpy(), offset))
    assert_same(mg.diag(v, offset), np.diag(v.numpy(), offset))
    if x.ndim == 2:
        assert_same(x.diag(offset), np.diag(a, offset))
    assert check_grad(lambda t: t.diag_embed(offset, 0, -1), x)
    batch = x.diag_embed(offset, dim1=0, dim2=2)
    assert_same(batch.diagonal(offset, 0, 2), a)


def test_diagonal_errors():
    with pytest.raises(ValueError, match="two different dims"):
        mg.zeros(2, 2).diagonal(0, 1, 1)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        mg.diag(mg.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="at least 2 dims"):
        mg.tril(mg.zeros(3))


def test_shape_ops_on_the_device(device):
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    x = mg.tensor(a, device=device, requires_grad=True)
    outs = [
        x.flip(0), x.roll(1, 1), x.repeat(2, 1), x.repeat_interleave(2, 0), mg.pad(x, (1, 1), mode="reflect"),
        mg.pad(x, (1, 2), value=1.0), x.tril(), x.diagonal(), x.diag_embed(), x.split(2, 1)[1], x.movedim(0, 1),
    ]  # fmt: skip
    np.testing.assert_array_equal(outs[4].numpy(), np.pad(a, ((0, 0), (1, 1)), "reflect"))
    sum(o.sum() for o in outs).backward()
    assert all(o.device == x.device for o in outs) and x.grad.device == x.device


@given(data=st.data())
def test_existing_shape_ops_take_empty_tensors(data):
    x = data.draw(tensors(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)), label="x")
    assume(0 in x.shape)
    a = x.numpy()
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    order = data.draw(st.permutations(range(x.ndim)), label="order")
    cases = [
        (lambda t: t.reshape(-1), a.reshape(-1)),
        (lambda t: t.flatten(), a.reshape(-1)),
        (lambda t: t.unsqueeze(dim).squeeze(), np.expand_dims(a, dim).squeeze()),
        (lambda t: t.permute(order), a.transpose(order)),
        (lambda t: t.transpose(0, -1), np.swapaxes(a, 0, -1)),
        (lambda t: t.expand(2, *a.shape), np.broadcast_to(a, (2, *a.shape))),
        (lambda t: mg.stack([t, t], dim), np.stack([a, a], dim)),
        (lambda t: mg.cat([t, t], dim), np.concatenate([a, a], dim)),
        (lambda t: t[..., ::-1], a[..., ::-1]),
        (lambda t: t @ mg.zeros(a.shape[-1], 2, dtype=t.dtype), a @ np.zeros((a.shape[-1], 2))),
    ]
    for fn, expected in cases:
        assert_same(fn(x), expected)
        assert check_grad(fn, x)
