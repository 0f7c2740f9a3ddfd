"""Matrix products: matmul for 1-D, 2-D and batched operands, as numpy's @."""

from __future__ import annotations

from ..tensor import Tensor, record
from .common import operands


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
        raise ValueError(
            f"matmul: shapes {getattr(ad, 'shape', ())} and {getattr(bd, 'shape', ())} don't line up "
            "(a's last axis must match b's second-to-last, or its only one; scalars are not allowed)"
        ) from None
    return record(data, (a, b), (ad, bd), _matmul_grads)
