"""analytics/ stays pure: it imports numpy, the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import analytics

ALLOWED = {"numpy", "analytics", "__future__"} | set(sys.stdlib_module_names)
MODULES = sorted(m.name for m in pkgutil.iter_modules(analytics.__path__))


def test_every_analytics_module_is_checked():
    # the checks below enumerate the package; this pins that the enumeration finds the modules
    assert {
        "calendar",
        "carbon",
        "energy",
        "intervals",
        "microgrid",
        "projection",
        "tariff",
    } <= set(MODULES)
    assert not any(m.ispkg for m in pkgutil.iter_modules(analytics.__path__)), "walk subpackages"


def test_analytics_imports_only_numpy_and_stdlib():
    root = Path(analytics.__file__).parent
    paths = sorted(root.glob("*.py"))
    assert {p.stem for p in paths} >= set(MODULES)
    for path in paths:
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
    for module in MODULES:
        mod = importlib.import_module(f"analytics.{module}")
        assert mod.__all__, f"analytics.{module} declares no public names"
        for name in mod.__all__:
            assert hasattr(mod, name), f"analytics.{module}.{name}"
