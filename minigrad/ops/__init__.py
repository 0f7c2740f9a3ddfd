"""Every op, as a function, and bound to Tensor as its operators and methods.

This module doubles as the array math for differentiable gradients: gradient formulas
call ``F.where``, ``F.log``, ... and get these functions under ``create_graph=True``.
"""

from ..tensor import Tensor
from .conversion import astype, move
from .elementwise import (
    abs,
    add,
    clamp,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    sigmoid,
    sign,
    sqrt,
    sub,
    tanh,
    where,
)
from .indexing import getitem, scatter_add
from .linalg import linear, matmul
from .reduction import all, any, argmax, argmin, max, mean, min, std, sum, var
from .shape import (
    T,
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
    view,
)


def _reflected(op):
    return lambda self, other: op(other, self)


_METHODS = {
    # operators
    "__add__": add,
    "__radd__": _reflected(add),
    "__sub__": sub,
    "__rsub__": _reflected(sub),
    "__mul__": mul,
    "__rmul__": _reflected(mul),
    "__truediv__": div,
    "__rtruediv__": _reflected(div),
    "__pow__": pow,
    "__rpow__": _reflected(pow),
    "__matmul__": matmul,
    "__rmatmul__": _reflected(matmul),
    "__neg__": neg,
    "__abs__": abs,
    "__pos__": lambda self: self,
    "__lt__": lt,
    "__le__": le,
    "__gt__": gt,
    "__ge__": ge,
    "__eq__": eq,
    "__ne__": ne,
    "__and__": logical_and,
    "__or__": logical_or,
    "__xor__": logical_xor,
    "__invert__": logical_not,
    "__getitem__": getitem,
    # methods, as in PyTorch
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "pow": pow,
    "matmul": matmul,
    "neg": neg,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "sign": sign,
    "sigmoid": sigmoid,
    "relu": relu,
    "tanh": tanh,
    "clamp": clamp,
    "clip": clamp,
    "maximum": maximum,
    "minimum": minimum,
    "sum": sum,
    "mean": mean,
    "max": max,
    "min": min,
    "var": var,
    "std": std,
    "argmax": argmax,
    "argmin": argmin,
    "any": any,
    "all": all,
    "reshape": reshape,
    "view": view,
    "flatten": flatten,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "permute": permute,
    "transpose": transpose,
    "swapaxes": swapaxes,
    "expand": expand,
    "broadcast_to": broadcast_to,
    "astype": astype,
}

for _name, _op in _METHODS.items():
    setattr(Tensor, _name, _op)
Tensor.T = property(T)
Tensor.mT = property(lambda self: swapaxes(self, -1, -2))
