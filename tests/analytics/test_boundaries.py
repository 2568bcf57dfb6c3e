"""analytics/ stays pure: it imports numpy, the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import analytics

ALLOWED = {"numpy", "analytics", "__future__"} | set(sys.stdlib_module_names)


def test_analytics_imports_only_numpy_and_stdlib():
    root = Path(analytics.__file__).parent
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"


def test_public_names_exist():
    import importlib

    for module in ("intervals", "calendar", "energy", "carbon", "microgrid", "tariff"):
        mod = importlib.import_module(f"analytics.{module}")
        for name in mod.__all__:
            assert hasattr(mod, name), f"analytics.{module}.{name}"
