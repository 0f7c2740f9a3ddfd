"""In-place ops with PyTorch's rules: values, gradients, the leaf error, version counters.

The contract tested last: whatever is written in place after a forward pass, backward gives
the gradient of the values the forward saw, or a RuntimeError saying what was modified;
never a silently wrong gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import broadcastable_shapes, tensors

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4))
Y = rng.standard_normal((3, 4))
POSITIVE = rng.random((3, 4)) + 0.5

# name: (call on t, what numpy gives, other operand or None)
METHODS = {
    "add_": (lambda t, o: t.add_(o), lambda a, o: a + o, Y),
    "add_alpha": (lambda t, o: t.add_(o, alpha=-2.0), lambda a, o: a - 2 * o, Y),
    "sub_": (lambda t, o: t.sub_(o), lambda a, o: a - o, Y),
    "sub_alpha": (lambda t, o: t.sub_(o, alpha=0.5), lambda a, o: a - 0.5 * o, Y),
    "mul_": (lambda t, o: t.mul_(o), lambda a, o: a * o, Y),
    "div_": (lambda t, o: t.div_(o), lambda a, o: a / o, POSITIVE),
    "iadd": (lambda t, o: t.__iadd__(o), lambda a, o: a + o, Y),
    "isub": (lambda t, o: t.__isub__(o), lambda a, o: a - o, Y),
    "imul": (lambda t, o: t.__imul__(o), lambda a, o: a * o, Y),
    "itruediv": (lambda t, o: t.__itruediv__(o), lambda a, o: a / o, POSITIVE),
    "clamp_": (lambda t, o: t.clamp_(-0.5, 0.4), lambda a, o: np.clip(a, -0.5, 0.4), None),
    "clip_": (lambda t, o: t.clip_(min=0.1), lambda a, o: np.maximum(a, 0.1), None),
    "copy_": (lambda t, o: t.copy_(o), lambda a, o: np.broadcast_to(o, a.shape), Y[0]),
    "fill_": (lambda t, o: t.fill_(o), lambda a, o: np.full_like(a, o), 2.5),
    "zero_": (lambda t, o: t.zero_(), lambda a, o: np.zeros_like(a), None),
}


@pytest.mark.parametrize("name", METHODS)
def test_values_and_the_tensor_itself_are_returned(name):
    call, expected, other = METHODS[name]
    t = mg.tensor(X)
    array = t.array
    out = call(t, None if other is None else mg.tensor(other))
    assert out is t and t.array is array  # the same memory, written in place
    np.testing.assert_allclose(t.numpy(), expected(X, other), rtol=1e-12)
    assert t._version == 1


@pytest.mark.parametrize("name", [n for n in METHODS if METHODS[n][2] is not None and n != "fill_"])
def test_numbers_and_arrays_as_the_other_operand(name):
    call, expected, other = METHODS[name]
    for value in (other, 1.5):
        t = mg.tensor(X)
        call(t, value)
        np.testing.assert_allclose(t.numpy(), expected(X, value), rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in METHODS if n not in ("zero_",)])
def test_recorded_on_a_non_leaf_with_gradients_checked_against_finite_differences(name):
    call, _, other = METHODS[name]
    x = mg.tensor(X * 0.3 + 0.05)  # clear of clamp's bounds
    inputs = [x] if other is None or name == "fill_" else [x, mg.tensor(other)]

    def f(x, *o):
        y = x * 1.5 + 0.1  # a non-leaf that requires grad
        return call(y, o[0] if o else (None if other is None else 2.5)) * x

    assert mg.gradcheck(f, inputs)


def test_the_chapter_update_loop_changes_the_weight_itself():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    model_holds = w  # as a module would
    (w * mg.tensor([3.0, 4.0])).sum().backward()
    with mg.no_grad():
        w -= 0.5 * w.grad
        w.grad.zero_()
    assert model_holds is w and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.0])
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_a_leaf_that_requires_grad_refuses_in_place_ops_outside_no_grad():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    for modify in (lambda: w.add_(1), lambda: w.__imul__(2), lambda: w.zero_(), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is being used in an in-place"):
            modify()
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])  # nothing was written
    assert w._version == 0


def test_a_view_of_a_tensor_that_requires_grad_refuses_them():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a tensor that requires grad"):
        w[1:].mul_(2)
    with pytest.raises(RuntimeError, match="view of a tensor that requires grad"):
        (w * 2).reshape(3, 1).add_(1)
    with mg.no_grad():
        w[0] *= 10.0  # the chapter's `weights[0] *= 1.0001`: fine without recording
    np.testing.assert_array_equal(w.numpy(), [10.0, 2.0, 3.0])


def test_setitem_on_a_non_leaf_is_differentiable():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 2
    y[0] = 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 2.0, 2.0])


def test_setitem_writes_a_tensor_that_requires_grad_into_a_constant():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    z = mg.zeros(2, 3)
    z[:, 1] = w * 3  # z becomes part of the graph
    assert z.requires_grad and not z.is_leaf
    (z * mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 15.0])


@pytest.mark.parametrize(
    "index, value",
    [
        (1, 7.0),
        ((slice(None), 2), mg.tensor([1.0, 2.0, 3.0])),
        (np.array([True, False, True]), mg.tensor([9.0, 8.0, 7.0, 6.0])),  # broadcast over the rows
        ((np.array([0, 2]), np.array([1, 3])), np.array([5.0, 6.0])),
        (mg.tensor([2, 0]), 1.5),
        (Ellipsis, mg.tensor(4.0)),
    ],
)
def test_setitem_index_kinds_match_numpy(index, value):
    t = mg.tensor(X)
    expected = X.copy()
    expected[index.array if isinstance(index, mg.Tensor) else index] = getattr(value, "array", value)
    t[index] = value
    np.testing.assert_array_equal(t.numpy(), expected)


@given(shapes=broadcastable_shapes(2, max_dims=3), data=st.data())
def test_setitem_gradients_for_the_tensor_and_the_value(shapes, data):
    sx, sv = shapes
    sx = np.broadcast_shapes(sx, sv)
    if not sx or sx[0] < 1:
        return
    sv = sv[1:] if len(sv) == len(sx) else sv  # the value fills t[0], so it broadcasts to sx[1:]
    x = data.draw(tensors(sx), label="x")
    v = data.draw(tensors(sv), label="v")

    def f(x, v):
        y = x * 1.0
        y[0] = v * 2
        return y * x

    assert mg.gradcheck(f, [x, v])


def test_arithmetic_keeps_the_dtype_and_refuses_another_kind():
    t = mg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type float.* can't be cast to the desired output type int64"):
        t += 1.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.mul_(mg.tensor([1.0, 2.0, 3.0]))
    t += 2
    f = mg.tensor([1.0, 2.0], dtype=mg.float32)
    f += mg.tensor([1.0, 2.0], dtype=mg.float64)  # float into float: cast, as PyTorch
    assert t.tolist() == [3, 4, 5] and f.dtype == mg.float32 and f.tolist() == [2.0, 4.0]
    t[0] = 9.7  # copying casts, as PyTorch's index_put_ does
    assert t.tolist() == [9, 4, 5]


def test_an_output_shape_that_would_grow_is_an_error():
    t = mg.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)"):
        t.add_(mg.ones(2, 3))
    x = mg.ones(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape \(2, 3\)"):
        x.add_(mg.ones(2, 3))


def test_random_fills_are_seeded():
    a, b = mg.zeros(4), mg.zeros(4)
    a.normal_(1.0, 2.0, generator=mg.Generator(3))
    b.normal_(1.0, 2.0, generator=mg.Generator(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), np.random.default_rng(3).normal(1.0, 2.0, 4).astype(np.float32))
    u = mg.zeros(1000).uniform_(2.0, 3.0, generator=mg.Generator(0))
    assert 2.0 <= u.min().item() and u.max().item() < 3.0
    with pytest.raises(TypeError, match="needs a float tensor"):
        mg.zeros(2, dtype=mg.int64).normal_()


def test_views_share_their_base_version_counter():
    t = mg.zeros(4)
    v, w = t[1:], t.reshape(2, 2)
    v.add_(1)
    assert t._version == v._version == w._version == 1
    w.data.mul_(2)
    assert t._version == 2
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 2.0, 2.0])
    assert mg.zeros(2)._version == 0


# ---- never a silently wrong gradient ----------------------------------------------------------------
# op family: (forward of (a, b), where a and b are non-leaf tensors)
FAMILIES = {
    "elementwise binary": lambda a, b: a * b + a / (b * b + 1),
    "elementwise unary": lambda a, b: (a.exp() + b.tanh() + b.sigmoid()) * a.relu(),
    "reduction": lambda a, b: a.sum(0) * b.mean(0) + a.max(1).values.sum() * b.var() + a.amax((0, 1)),
    "shape and views": lambda a, b: a.reshape(4, 3).T.reshape(3, 4) * b.T.T[..., ::-1],
    "indexing": lambda a, b: a[[0, 2, 2]] * b[1:, None, :].sum(0),
    "matmul": lambda a, b: a @ b.T,
    "where and maximum": lambda a, b: mg.where(a > 0, a * b, b) + mg.maximum(a, b),
    "join": lambda a, b: mg.cat([a * b, b]) * mg.stack([a, b]).sum(),
    "clamp and pow": lambda a, b: a.clamp(-0.5, 0.5) ** 2 + b**3,
    "in-place inside": lambda a, b: (a * 1).mul_(b).add_(a),
}


def _reference(family, xa, xb):
    a, b = mg.tensor(xa, requires_grad=True), mg.tensor(xb, requires_grad=True)
    FAMILIES[family](a * 1, b * 1).sum().backward()
    return a.grad.numpy(), b.grad.numpy()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("target", ["a", "b", "out"])
@pytest.mark.parametrize("write", ["add_", "setitem", "copy_"])
def test_a_write_after_the_forward_gives_the_right_gradient_or_an_error(family, target, write):
    xa = rng.standard_normal((3, 4)) * 0.4
    xb = rng.standard_normal((3, 4)) * 0.4 + 0.1
    want = _reference(family, xa, xb)
    a, b = mg.tensor(xa, requires_grad=True), mg.tensor(xb, requires_grad=True)
    ia, ib = a * 1, b * 1
    out = FAMILIES[family](ia, ib)
    victim = {"a": ia, "b": ib, "out": out}[target]
    with mg.no_grad():
        {"add_": lambda v: v.add_(1.0), "setitem": lambda v: v.__setitem__(0, 5.0), "copy_": lambda v: v.copy_(v * 2)}[
            write
        ](victim)
    try:
        out.sum().backward()
    except RuntimeError as e:
        assert "in-place" in str(e) or "in place" in str(e)
        return
    np.testing.assert_allclose(a.grad.numpy(), want[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), want[1], rtol=1e-10, atol=1e-12)


def test_a_saved_value_written_in_place_is_an_error_naming_the_op():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = mg.tensor([4.0, 5.0, 6.0])
    loss = (w * x).sum()
    with mg.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match=r"gradient of mul \(its input 1, shape \(3,\)\).*version 1"):
        loss.backward()


def test_a_value_no_formula_reads_may_change():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = mg.tensor([4.0, 5.0, 6.0])
    loss = (w + x).sum()
    with mg.no_grad():
        x.add_(1)
    loss.backward()  # add's gradient does not read x
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0, 1.0])


def test_a_tensor_modified_after_an_op_used_it_is_an_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    s = y.sum()
    y.mul_(3)  # recorded, but s was computed from the old y
    with pytest.raises(RuntimeError, match="used by sum was modified in place afterwards"):
        s.backward()


def test_in_place_on_a_non_leaf_keeps_the_old_value_for_its_own_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y.mul_(x)  # d/dx (e^x * x) = e^x (1 + x): needs the old y, which minigrad kept
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0, 3.0]) * [2.0, 3.0, 4.0], rtol=1e-6)
