"""Every public function and method of mor documents its parameters and returns (numpydoc)."""

from __future__ import annotations

import inspect

import pytest

import mor


def _public_functions():
    for name in mor.__all__:
        obj = getattr(mor, name)
        if inspect.isfunction(obj):
            yield name, obj
    for cls in (mor.ModalSystem, mor.Reductor):
        for name, obj in vars(cls).items():
            func = obj.__func__ if isinstance(obj, classmethod | staticmethod) else obj
            if not name.startswith("_") and inspect.isfunction(func):
                yield f"{cls.__name__}.{name}", func


@pytest.mark.parametrize("name, func", list(_public_functions()), ids=lambda x: str(x))
def test_public_functions_have_numpydoc_parameters_and_returns(name, func):
    doc = inspect.getdoc(func) or ""
    params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    if params:
        assert "Parameters\n----------" in doc, f"{name}: no Parameters section"
        missing = [p for p in params if not any(
            line.split(":")[0].strip().lstrip("*") == p or p in
            [x.strip() for x in line.split(":")[0].split(",")]
            for line in doc.splitlines() if ":" in line or "," in line)]
        assert not missing, f"{name}: parameters {missing} are not documented"
    assert "Returns\n-------" in doc, f"{name}: no Returns section"
