"""Day types of the Chinese calendar: working day, weekend, public holiday.

Statutory holidays and the weekend days swapped into working days (调休) change every year by a
State Council notice; the maintained ``chinese-calendar`` package carries them (2004 onward). For
years it does not know yet, weekends alone decide, and :func:`day_type` says so.
"""

from __future__ import annotations

import functools
from datetime import date
from enum import IntEnum

import chinese_calendar

__all__ = ["DayType", "day_type"]


class DayType(IntEnum):
    """What kind of day a date is for a workplace."""

    WORKDAY = 0  # including a weekend day made a working day (调休上班)
    WEEKEND = 1
    HOLIDAY = 2  # a statutory holiday or a day added to one


@functools.lru_cache(maxsize=4096)
def day_type(day: date) -> tuple[DayType, bool]:
    """The day's type and whether the official calendar knew the date (else weekends only)."""
    try:
        if chinese_calendar.is_workday(day):
            return DayType.WORKDAY, True
        _off, holiday_name = chinese_calendar.get_holiday_detail(day)
        return (DayType.HOLIDAY if holiday_name is not None else DayType.WEEKEND), True
    except NotImplementedError:  # a year the package has no notice for yet
        return (DayType.WEEKEND if day.weekday() >= 5 else DayType.WORKDAY), False
