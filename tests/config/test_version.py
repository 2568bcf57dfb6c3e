"""One version helper (config/version.py) for the CLI, /healthz and reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

import config.version
from config.version import UNKNOWN_VERSION, smartpark_version


def test_the_installed_version():
    assert smartpark_version() == version("smartpark")
    assert config.version.__version__ == version("smartpark")


def test_a_source_tree_reports_the_one_fallback(monkeypatch: pytest.MonkeyPatch):
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(config.version, "version", not_installed)
    assert smartpark_version() == UNKNOWN_VERSION == "0+unknown"


def test_cli_health_and_reports_use_it():
    import api.routes.health
    import api.routes.reports
    import smartpark

    assert api.routes.health.package_version is smartpark_version
    assert api.routes.reports.__version__ is config.version.__version__
    assert smartpark.__version__ is config.version.__version__
