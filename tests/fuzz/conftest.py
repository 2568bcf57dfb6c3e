"""Fuzzing fixtures and the hypothesis profile ``long`` of this folder.

Every fuzz test takes its example budget from :func:`tests.fuzz.support.budget`: the normal run
keeps the folder near a minute; ``pytest tests/fuzz --hypothesis-profile=long`` (the profile is
registered in tests/conftest.py) multiplies every budget by 20 (docs/fuzzing.md).
"""

from __future__ import annotations

import pytest

from config.registry import Registry, demo_registry_path, load_registry
from tests.fuzz.support import SECOND_PARK


@pytest.fixture(scope="session")
def two_park_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The demo park and a small second park (other units, a multiplier)."""
    folder = tmp_path_factory.mktemp("fuzz-registry")
    (folder / "a-demo.yaml").write_text(demo_registry_path().read_text(encoding="utf-8"))
    (folder / "b-riverside.yaml").write_text(SECOND_PARK, encoding="utf-8")
    return load_registry(folder)
