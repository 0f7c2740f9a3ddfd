"""Matrix products: matmul for 1-D, 2-D and batched operands, as numpy's @; linear; and
PyTorch's shape-checked forms of it: dot, mv, bmm, outer."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, TensorLike, record
from .operands import as_tensor, operand, operands, same_device
from .registry import register

__all__ = ["matmul", "linear", "dot", "mv", "bmm", "outer"]


def _mT(ops, x):
    """Swap the last two axes."""
    return x.T if x.ndim == 2 else ops.swapaxes(x, -1, -2)


def _grad_a(ops, g, out, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else g[..., None] * b  # (..., n, 1) * (m,)
    if a.ndim == 1:
        return (b @ g[..., None])[..., 0]  # (..., n, m) @ (..., m, 1)
    return g @ _mT(ops, b)


def _grad_b(ops, g, out, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else a[:, None] * g[..., None, :]  # (n, 1) * (..., 1, m)
    if b.ndim == 1:
        return (_mT(ops, a) @ g[..., None])[..., 0]  # (..., m, n) @ (..., n, 1)
    return _mT(ops, a) @ g


_matmul_grads = (_grad_a, _grad_b)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """a @ b: dot product of vectors, matrix products, batched over leading axes."""
    a, b, ad, bd = operands(a, b)
    try:
        data = ad @ bd
    except (ValueError, TypeError):
        same_device("matmul", (a, b))
        sa, sb = getattr(ad, "shape", ()), getattr(bd, "shape", ())
        if _lines_up(sa, sb):
            raise  # not a shape problem: the backend's own reason
        raise ValueError(
            f"matmul: shapes {sa} and {sb} don't line up "
            "(a's last axis must match b's second-to-last, or its only one; scalars are not allowed)"
        ) from None
    return record("matmul", data, (a, b), (ad, bd), _matmul_grads)


register(matmul, "matmul", "__matmul__", reflected=("__rmatmul__",))


def _lines_up(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether numpy's @ accepts operands of these shapes."""
    if not a or not b:
        return False
    inner_b = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner_b:
        return False
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        return False
    return True


def _linear_grad_x(ops, g, out, x, w, b=None):
    return g @ w  # (..., out) @ (out, in)


def _linear_grad_w(ops, g, out, x, w, b=None):
    if x.ndim == 1:
        return g[:, None] * x  # the outer product (out, 1) * (in,)
    # gᵀ x: (out, in), contiguous as the weight is. Batch axes are summed back by the engine.
    return _mT(ops, g) @ x


def _linear_grad_b(ops, g, out, x, w, b):
    return g.reshape(-1, g.shape[-1]).sum(0)  # summed over every row: (out,)


_linear_grads = (_linear_grad_x, _linear_grad_w, _linear_grad_b)


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x @ weight.T + bias as one op (PyTorch's F.linear): weight is (out_features, in_features).

    One node instead of three (transpose, matmul, add), and no transposed copies in backward.
    """
    if x.__class__ is Tensor and weight.__class__ is Tensor:
        w, xd, wd = weight, x.array, weight.array
    else:
        x, w, xd, wd = operands(x, weight)
    try:
        data = xd @ wd.T
    except (ValueError, TypeError):
        same_device("linear", (x, w))
        if _lines_up(getattr(xd, "shape", ()), getattr(wd, "shape", ())[::-1]):
            raise  # not a shape problem: the backend's own reason
        raise ValueError(
            f"linear: an input of shape {getattr(xd, 'shape', ())} doesn't fit a weight of shape "
            f"{getattr(wd, 'shape', ())}: the input's last axis must be the weight's second"
        ) from None
    if bias is None:
        return record("linear", data, (x, w), (xd, wd), _linear_grads[:2])
    b, bd = (bias, bias.array) if bias.__class__ is Tensor else operand(bias)
    return record("linear", data + bd, (x, w, b), (xd, wd, bd), _linear_grads)


register(linear)


# ---- matmul with PyTorch's checks on the shapes ---------------------------------------------------
def _shapes_must(name: str, ok: bool, a: Tensor, b: Tensor, expected: str) -> None:
    if not ok:
        raise ValueError(f"{name}: expects {expected}, got shapes {a.shape} and {b.shape}")


def dot(a: TensorLike, b: TensorLike) -> Tensor:
    """The dot product of two 1-D tensors of one length."""
    a, b = as_tensor(a), as_tensor(b)
    _shapes_must("dot", a.ndim == b.ndim == 1 and a.shape == b.shape, a, b, "two 1-D tensors of one length")
    return matmul(a, b)


register(dot, "dot")


def mv(matrix: TensorLike, vector: TensorLike) -> Tensor:
    """matrix (n, m) @ vector (m,)."""
    a, b = as_tensor(matrix), as_tensor(vector)
    fits = a.ndim == 2 and b.ndim == 1 and a.shape[1] == b.shape[0]
    _shapes_must("mv", fits, a, b, "a matrix (n, m) and a vector (m,)")
    return matmul(a, b)


register(mv, "mv")


def bmm(a: TensorLike, b: TensorLike) -> Tensor:
    """Batches of matrix products: (batch, n, m) @ (batch, m, p), without broadcasting."""
    a, b = as_tensor(a), as_tensor(b)
    fits = a.ndim == b.ndim == 3 and a.shape[0] == b.shape[0] and a.shape[2] == b.shape[1]
    _shapes_must("bmm", fits, a, b, "(batch, n, m) and (batch, m, p)")
    return matmul(a, b)


register(bmm, "bmm")


def outer(a: TensorLike, b: TensorLike) -> Tensor:
    """The outer product of two 1-D tensors: out[i, j] = a[i] * b[j]."""
    a, b = as_tensor(a), as_tensor(b)
    _shapes_must("outer", a.ndim == b.ndim == 1, a, b, "two 1-D tensors")
    return a.reshape(-1, 1) * b


register(outer, "outer")
