"""Period parsing: pure in analytics.calendar, wrapped as the service's 4xx error."""

from __future__ import annotations

import pytest

from analytics.calendar import PeriodParseError, local_period
from config.errors import InvalidRequestError
from services.indicators import PeriodError
from services.indicators import local_period as service_period


def test_local_period_edges_at_local_midnight():
    # 2026-03-14 00:00 in Wuhan (UTC+8) is 2026-03-13T16:00Z = 1,773,417,600 s
    day = local_period("2026-03-14", "Asia/Shanghai")
    assert (day.kind, day.start_ns, day.end_ns) == (
        "day", 1_773_417_600 * 10**9, (1_773_417_600 + 86_400) * 10**9,
    )  # fmt: skip
    assert (
        local_period("2026-02", "Asia/Shanghai").end_ns
        - local_period("2026-02", "Asia/Shanghai").start_ns
        == 28 * 86_400 * 10**9
    )
    assert service_period("2026", "UTC") == local_period("2026", "UTC")


@pytest.mark.parametrize("bad", ["2026-13", "26-03", "2026-02-30", "2026/03", "march", ""])
def test_bad_periods(bad):
    with pytest.raises(PeriodParseError, match="bad period"):
        local_period(bad, "Asia/Shanghai")
    assert issubclass(PeriodParseError, ValueError)
    with pytest.raises(PeriodError, match="bad period") as err:
        service_period(bad, "Asia/Shanghai")
    assert isinstance(err.value, InvalidRequestError)
