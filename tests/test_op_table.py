"""The op table is the one source: top-level names, Tensor methods, the type checkers' view, the docs.

Registering an op (minigrad/ops/registry.py) and forgetting any of the places derived
from it fails here, with the name to add and where.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.autograd import backward
from minigrad.backend import ArrayMath, BackendMath
from minigrad.ops import inplace
from minigrad.ops.registry import OPS
from minigrad.tensor import Tensor, make, record

ROOT = Path(__file__).resolve().parent.parent


def test_every_op_is_a_top_level_function():
    missing = [name for name, op in OPS.items() if op.export and getattr(mg, name, None) is not op.function]
    assert not missing, f"add these ops to their module's __all__: {missing}"
    methods_only = [name for name, op in OPS.items() if not op.export]
    assert "add_" in methods_only and not any(hasattr(mg, name) for name in methods_only)


def test_each_op_module_exports_exactly_its_registered_ops():
    by_module: dict[str, set[str]] = {}
    for name, op in OPS.items():
        if op.export:
            by_module.setdefault(op.function.__module__, set()).add(name)
    for module_name, names in by_module.items():
        exported = set(importlib.import_module(module_name).__all__)
        assert names <= exported, f"{module_name}.__all__ lacks {sorted(names - exported)}"
        if module_name.startswith("minigrad.ops."):
            assert exported <= names, f"{module_name}.__all__ has unregistered {sorted(exported - names)}"


def test_methods_and_operators_call_their_op():
    for name, op in OPS.items():
        for method in op.methods:
            assert getattr(Tensor, method) is op.function, f"Tensor.{method} is not {name}"
    floats = mg.tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 1.0], [2.0, 3.0]], dtype=np.float32)
    ints = mg.tensor([[1, 2], [3, 4]]), np.array([[5, 1], [2, 3]])  # for the bitwise ops
    for name, op in OPS.items():
        t, other = ints if name.startswith("bitwise") else floats
        for method in op.reflected:
            np.testing.assert_array_equal(getattr(t, method)(other).numpy(), op.function(other, t).numpy())


def _type_checking_block() -> tuple[dict[str, str], set[str]]:
    """(method name -> the op it is declared as, names declared with `def`) in Tensor's TYPE_CHECKING block."""
    tree = ast.parse((ROOT / "minigrad" / "tensor.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor"]
    (block,) = [n for n in cls.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    assigned, defined = {}, set()
    for node in block.body:
        if isinstance(node, ast.Assign):
            assigned[node.targets[0].id] = ast.unparse(node.value)
        elif isinstance(node, ast.FunctionDef):
            defined.add(node.name)
    return assigned, defined


def test_type_checkers_see_every_method_as_its_op():
    assigned, defined = _type_checking_block()
    runtime = {m: name for name, op in OPS.items() for m in op.methods}
    modules = {"ops": ops, "inplace": inplace}
    declared = {m: target for m, target in assigned.items() if target.partition(".")[0] in modules}
    assert set(declared) == set(runtime), (
        f"declare in tensor.py's TYPE_CHECKING block: {sorted(set(runtime) - set(declared))}; "
        f"not methods in the table: {sorted(set(declared) - set(runtime))}"
    )
    for method, target in declared.items():
        module, _, name = target.partition(".")
        assert getattr(modules[module], name) is getattr(Tensor, method), f"{method} = {target} is wrong"
    reflected = {m for op in OPS.values() for m in op.reflected}
    assert reflected <= defined, f"declare these operators with def: {sorted(reflected - defined)}"
    assert assigned["backward"] == "autograd.backward" and Tensor.backward is backward
    assert {"T", "mT"} <= defined and isinstance(Tensor.T, property) and isinstance(Tensor.mT, property)


def test_docs_list_every_op():
    text = (ROOT / "docs" / "ops.md").read_text()
    listed = set(re.findall(r"`(\w+)[`(]", text))
    missing = sorted(set(OPS) - listed)
    assert not missing, f"docs/ops.md does not list: {missing}"


def test_both_array_maths_offer_every_name_a_formula_may_use():
    names = [n for n in vars(ArrayMath) if not n.startswith("_")]
    assert {"log", "sign", "where", "broadcast_to", "permute", "swapaxes", "add_at"} <= set(names)
    for name in names:
        assert callable(getattr(BackendMath(np), name)), f"BackendMath lacks {name}"
        assert callable(getattr(ops, name)), f"minigrad.ops lacks {name}"


def test_a_formula_giving_the_wrong_shape_is_an_error_naming_the_op_and_input():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    wrong = (lambda ops, g, out, x: np.ones(3, dtype=np.float32),)
    y = record("bad_op", x.array * 2, (x,), (x.array,), wrong)
    with pytest.raises(RuntimeError, match=r"bad_op for its input 0 gave shape \(3,\).*shape \(2,\)"):
        y.sum().backward()


def test_a_formula_giving_a_broadcastable_shape_is_summed_back():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    wide = (lambda ops, g, out, x: np.ones((4, 2), dtype=np.float32),)
    record("wide_op", x.array * 2, (x,), (x.array,), wide).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_ops_are_registered_once():
    with pytest.raises(RuntimeError, match="'add' is registered twice"):
        from minigrad.ops.registry import register

        register(mg.add)
    assert make(np.zeros(1)).requires_grad is False
