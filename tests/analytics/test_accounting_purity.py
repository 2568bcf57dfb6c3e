"""The accounting modules import numpy and the standard library only, and export what they say."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import analytics

ALLOWED = {"numpy", "analytics", "__future__"} | set(sys.stdlib_module_names)
MODULES = ("energy", "gas", "instruments", "carbon", "microgrid", "tariff", "zero_carbon")


def test_accounting_modules_are_pure():
    root = Path(analytics.__file__).parent
    for module in MODULES:
        tree = ast.parse((root / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{module}.py imports {name}"


def test_public_names_exist():
    for module in MODULES:
        mod = importlib.import_module(f"analytics.{module}")
        for name in mod.__all__:
            assert hasattr(mod, name), f"analytics.{module}.{name}"
