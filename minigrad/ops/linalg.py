"""Matrix products: matmul for 1-D, 2-D and batched operands, as numpy's @."""

from __future__ import annotations

from ..tensor import Tensor, record
from .common import operand, operands, same_device


def _mT(F, x):
    """Swap the last two axes."""
    return x.T if x.ndim == 2 else F.swapaxes(x, -1, -2)


def _grad_a(F, g, out, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else g[..., None] * b  # (..., n, 1) * (m,)
    if a.ndim == 1:
        return (b @ g[..., None])[..., 0]  # (..., n, m) @ (..., m, 1)
    return g @ _mT(F, b)


def _grad_b(F, g, out, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else a[:, None] * g[..., None, :]  # (n, 1) * (..., 1, m)
    if b.ndim == 1:
        return (_mT(F, a) @ g[..., None])[..., 0]  # (..., m, n) @ (..., n, 1)
    return _mT(F, a) @ g


_matmul_grads = (_grad_a, _grad_b)


def matmul(a, b) -> Tensor:
    """a @ b: dot product of vectors, matrix products, batched over leading axes."""
    a, b, ad, bd = operands(a, b)
    try:
        data = ad @ bd
    except (ValueError, TypeError):
        same_device([t for t in (a, b) if isinstance(t, Tensor)])
        raise ValueError(
            f"matmul: shapes {getattr(ad, 'shape', ())} and {getattr(bd, 'shape', ())} don't line up "
            "(a's last axis must match b's second-to-last, or its only one; scalars are not allowed)"
        ) from None
    return record(data, (a, b), (ad, bd), _matmul_grads)


def _linear_grad_x(F, g, out, x, w, b=None):
    return g @ w  # (..., out) @ (out, in)


def _linear_grad_w(F, g, out, x, w, b=None):
    if x.ndim == 1:
        return g[:, None] * x  # the outer product (out, 1) * (in,)
    # (xᵀ g)ᵀ rather than gᵀ x: the same numbers, but BLAS reads x faster this way round.
    # Batch axes are summed back to (out, in) by the engine.
    return _mT(F, _mT(F, x) @ g)


def _linear_grad_b(F, g, out, x, w, b):
    return g.reshape(-1, g.shape[-1]).sum(0)  # summed over every row: (out,)


_linear_grads = (_linear_grad_x, _linear_grad_w, _linear_grad_b)


def linear(x, weight, bias=None) -> Tensor:
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
        same_device([t for t in (x, w) if isinstance(t, Tensor)])
        raise ValueError(
            f"linear: an input of shape {getattr(xd, 'shape', ())} doesn't fit a weight of shape "
            f"{getattr(wd, 'shape', ())}: the input's last axis must be the weight's second"
        ) from None
    if bias is None:
        return record(data, (x, w), (xd, wd), _linear_grads[:2])
    b, bd = (bias, bias.array) if bias.__class__ is Tensor else operand(bias)
    return record(data + bd, (x, w, b), (xd, wd, bd), _linear_grads)
