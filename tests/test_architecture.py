"""The one-way import rule of docs/architecture.md, checked on the source of every module.

``mor`` imports neither sibling package (nor JAX); ``verification`` imports ``mor`` only,
never JAX or the bridge.  Every ``import`` statement counts, including those inside
functions, so a lazy import cannot hide a wrong-way dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEEP_LEARNING = {"jax", "jaxlib", "flax", "optax", "orbax"}
FORBIDDEN = {
    "mor": {"verification", "ssm_bridge", "mor_cli"} | DEEP_LEARNING,
    "verification": {"ssm_bridge", "mor_cli"} | DEEP_LEARNING,
    "ssm_bridge": {"mor_cli"},  # its jobs may certify through verification
}


def imported_packages(path: Path) -> set[str]:
    """Top-level package names of every absolute import in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    wrong = {module: names for module, names in wrong.items() if names}
    assert not wrong, f"{package} must not import these: {wrong}"


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import jax.numpy as jnp\n    from flax import linen\n")
    assert imported_packages(module) == {"jax", "flax"}
