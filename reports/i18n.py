"""Every label of the reports, in Chinese (default) and English, keyed by stable keys.

The labels live in the one message catalogue, ``config/messages/`` (the reports' own in
``reports.yaml``), which the dashboard and the API's messages read too; this module is the
reports' view of it, with the same functions and keys as before the catalogue existed.

Keys are indicator keys (``tco2_per_tce``), target keys (``target.carbon_per_energy``), section
and column names (``section.targets``), statuses (``status.met``), bases, note kinds and texts
(``notetext.<code>``), carriers, accounting settings and their values, instrument kinds and units
(``unit.fraction``). ``t(key, lang)`` falls back to the key itself, so an indicator the table does
not know yet still shows, by its key. Data strings of the report (park and tenant names, target
titles, standards, sources, the profile's name and rationale) are shown as they are.
"""

from __future__ import annotations

from config.accounting import METHOD_LABELS
from config.messages import Lang, catalogue, message, reason_text

__all__ = ["LABELS", "MONTHS_EN", "Lang", "method", "plural", "reason", "sector", "t", "unit"]


def _pairs() -> dict[str, tuple[str, str]]:
    """The catalogue as (Chinese, English) pairs; a text with plural forms by its ``other``."""
    pairs: dict[str, tuple[str, str]] = {}
    for key, entry in catalogue().items():
        zh, en = (text if isinstance(text, str) else text["other"] for text in (entry.zh, entry.en))
        pairs[key] = (zh, en)
    return pairs


LABELS: dict[str, tuple[str, str]] = _pairs()  # key: (zh, en)
"""Every label of the one message catalogue (``config/messages/*.yaml``; the reports' own are in
``reports.yaml``) as (Chinese, English)."""

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(key: str, lang: Lang = "zh") -> str:
    """The label of ``key`` in ``lang``; the key itself when the table does not know it."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def plural(key: str, count: int, lang: Lang = "zh") -> str:
    """The text of ``key`` for ``count`` things [a count], its ``{0}`` or ``{n}`` filled in:
    English picks "1 tenant" or "2 tenants" from the catalogue's plural forms."""
    return message(key, lang, count, n=count)


def method(name: str, lang: Lang = "zh") -> str:
    """An electricity method as GB/T 2589-2020 names it (``config.accounting.METHOD_LABELS``)."""
    for key, (zh, en) in METHOD_LABELS.items():
        if key == name:
            return zh if lang == "zh" else en
    return name


def unit(name: str | None, lang: Lang = "zh") -> str:
    """A unit as shown: ``fraction`` as %, m3 as m³, a volume ``at 20 °C`` in brackets in
    Chinese …; any other unit as it is."""
    if not name:
        return ""
    base, at, condition = name.partition(" at ")
    if at:  # a gas volume at its reference condition: "kgce/m3 at 20 °C"
        return unit(base, lang) + message("unit.at", lang, condition=condition)
    return t(f"unit.{name}", lang) if f"unit.{name}" in LABELS else name


def sector(name: str | None, lang: Lang = "zh") -> str | None:
    """A tenant's sector as the registry writes it, in ``lang`` when the catalogue knows it."""
    if name is None:
        return None
    return t(f"sector.{name}", lang) if f"sector.{name}" in LABELS else name


def reason(text: str | None, lang: Lang = "zh") -> str:
    """Why a value is missing, as the services said it (English), in ``lang``, with indicators,
    flows and scopes by their labels (``config.messages.reason_text``)."""
    return reason_text(text, lang) or ""
