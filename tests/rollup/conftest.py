"""The roll-up tests keep every figure they make (services.rollup.KEEP_AFTER_S = 0), so the
figure cache is exercised on their small parks; test_sum_series checks the default too."""

from __future__ import annotations

import pytest

import services.rollup


@pytest.fixture(autouse=True)
def keep_every_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.rollup, "KEEP_AFTER_S", 0.0)
