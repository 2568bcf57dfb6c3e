"""Sample report documents and their renderings, rendered once per module (PDFs take seconds)."""

from __future__ import annotations

import pytest

from reports.model import ReportDoc
from tests.reports.sample import factory_doc, park_doc

DOCS = {"park": park_doc, "factory": factory_doc}


@pytest.fixture(scope="session")
def docs() -> dict[str, ReportDoc]:
    return {name: build() for name, build in DOCS.items()}


@pytest.fixture(scope="session")
def park(docs: dict[str, ReportDoc]) -> ReportDoc:
    return docs["park"]


@pytest.fixture(scope="session")
def factory(docs: dict[str, ReportDoc]) -> ReportDoc:
    return docs["factory"]
