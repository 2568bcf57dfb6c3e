"""DESIGN.md's "may import" column holds: import-linter's contracts ([tool.importlinter] in
pyproject.toml) are the table, they are kept, and they break on an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# DESIGN.md, "Suggested layout": folder -> the folders of ours it may import (`smartpark/` and
# `bench/` may import everything and are imported by nothing).
MAY_IMPORT: dict[str, set[str]] = {
    "config": set(),
    "store": {"config"},
    "ingest": {"config", "store"},
    "analytics": set(),
    "services": {"analytics", "store", "config"},
    "reports": {"services", "analytics", "store", "config"},
    "api": {"config", "store", "ingest", "analytics", "services", "reports"},
    "simulators": {"config"},
    "edge": {"config"},
}
PACKAGES = {*MAY_IMPORT, "smartpark"}

# Inside reports/: the builder composes the services' results (reports/build.py); the document
# and its renderers compute nothing, so they may import config only.
RENDERERS = ["reports.model", "reports.render", "reports.charts", "reports.fmt", "reports.i18n"]
RENDERERS_MAY_IMPORT = {"config"}

# Third-party packages a row may use, where the table restricts them ("stdlib, pydantic";
# "numpy, stdlib only"); config/ also reads YAML and builds one pydantic-settings class.
MAY_USE = {
    "config": {"pydantic", "pydantic_core", "pydantic_settings", "yaml"},
    "analytics": {"numpy"},
    # a gateway box: MQTT, the field-bus clients and what config/ itself needs, nothing more
    "edge": {"pydantic", "pydantic_core", "yaml", "aiomqtt", "paho", "pymodbus", "serial"},
}


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    linter = config["tool"]["importlinter"]
    assert set(linter["root_packages"]) == PACKAGES
    return {c["id"]: c for c in linter["contracts"]}


def test_every_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(MAY_IMPORT) + 1} kept, 0 broken." in result.stdout


def test_the_contracts_are_the_design_table():
    contracts = _contracts()
    assert set(contracts) == {*MAY_IMPORT, "reports-renderers"}
    renderers = contracts["reports-renderers"]
    assert renderers["source_modules"] == RENDERERS
    forbidden = renderers["forbidden_modules"]
    assert isinstance(forbidden, list)
    assert set(forbidden) == PACKAGES - RENDERERS_MAY_IMPORT - {"reports"}
    for package, allowed in MAY_IMPORT.items():
        contract = contracts[package]
        assert contract["type"] == "forbidden"
        assert contract["source_modules"] == [package]
        ours = {m for m in contract["forbidden_modules"] if m in PACKAGES}  # type: ignore[attr-defined]
        assert ours == PACKAGES - allowed - {package}, package


def test_no_contract_has_an_exception():
    """The report builder lives in reports/ (it used to be services/reports.py, an exception to
    the services contract): no contract ignores an import."""
    assert {c: v.get("ignore_imports", []) for c, v in _contracts().items()} == {
        c: [] for c in [*MAY_IMPORT, "reports-renderers"]
    }


@pytest.mark.parametrize("package", sorted(MAY_USE))
def test_third_party_imports_are_the_tables(package: str):
    """What a denylist cannot say: analytics/ uses numpy and the standard library, nothing else;
    config/ pydantic and yaml; edge/ what a gateway box needs."""
    graph = grimp.build_graph(package, include_external_packages=True, cache_dir=None)
    used = {
        imported.split(".")[0]
        for module in graph.find_descendants(package) | {package}
        for imported in graph.find_modules_directly_imported_by(module)
    }
    third_party = used - PACKAGES - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= MAY_USE[package], third_party - MAY_USE[package]


def _copy_tree(dest: Path) -> None:
    def only_python(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))
        ]

    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=only_python)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


@pytest.mark.parametrize(
    ("module", "upward", "broken"),
    [
        ("config/units.py", "import store.base", "config/ may import"),
        ("store/base.py", "import services.follow", "store/ may import config BROKEN"),
        ("ingest/decode.py", "import services.follow", "ingest/ may import config, store BROKEN"),
        ("analytics/energy.py", "import config.settings", "analytics/ may import numpy"),
        ("analytics/energy.py", "import httpx", "analytics/ may import numpy"),
        ("services/ledger.py", "import api.deps", "services/ may import"),
        ("services/ledger.py", "import reports.model", "services/ may import"),
        ("reports/render.py", "import services.energy", "reports/ document and renderers"),
        ("api/deps.py", "import smartpark", "api/ may import everything above"),
        ("edge/outbox.py", "import store.base", "edge/ may import config BROKEN"),
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path: Path, module: str, upward: str, broken: str):
    _copy_tree(tmp_path)
    path = tmp_path / module
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    assert sep, f"{module} has no __future__ import to insert after"
    path.write_text(f"{head}{sep}{upward}  # noqa\n{rest}", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith(broken))
    assert " BROKEN" in line
    source = module.removesuffix(".py").replace("/", ".")
    assert f"{source} -> {upward.removeprefix('import ')}" in result.stdout
