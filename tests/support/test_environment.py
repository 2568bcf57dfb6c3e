"""The autouse fixture of tests/conftest.py: no test reads the developer's SMARTPARK_* or ./.env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.settings import Settings, get_settings
from tests.support.waiting import async_wait_until, wait_until


def test_no_smartpark_variable_reaches_a_test() -> None:
    # but the one the fixture sets: serve's city warm-up stays off unless a test asks for it
    assert [name for name in os.environ if name.upper().startswith("SMARTPARK_")] == [
        "SMARTPARK_CITY_WARM"
    ]
    assert os.environ["SMARTPARK_CITY_WARM"] == "false"
    assert not Settings().city_warm
    assert Settings().max_body_bytes == 1_048_576


def test_dotenv_in_the_working_folder_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("SMARTPARK_MAX_BODY_BYTES=1\nSMARTPARK_AUTH=off\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().max_body_bytes == 1_048_576
    assert get_settings().auth == "on"
    # the file itself is a valid .env: without the fixture's switch, Settings would read it
    assert Settings(_env_file=".env").max_body_bytes == 1


def test_a_test_may_still_set_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTPARK_MAX_BODY_BYTES", "7")
    assert Settings().max_body_bytes == 7


def test_wait_until_returns_the_value_and_fails_with_what_it_waited_for() -> None:
    calls = iter([0, 0, 3])
    assert wait_until(lambda: next(calls), interval_s=0.001) == 3
    with pytest.raises(AssertionError, match=r"waiting for the spool to fill \(last: 0\)"):
        wait_until(lambda: 0, timeout_s=0.05, interval_s=0.01, what="the spool to fill")


async def test_async_wait_until_awaits_coroutine_conditions() -> None:
    calls = iter([None, "ok"])

    async def condition() -> str | None:
        return next(calls)

    assert await async_wait_until(condition, interval_s=0.001) == "ok"

    async def never() -> bool:
        return False

    with pytest.raises(AssertionError, match="waiting for nothing"):
        await async_wait_until(never, timeout_s=0.02, interval_s=0.01, what="nothing")
