"""The accounting profile in force for a park and year: stored overrides and the registry default.

Every figure the API, the reports and the CLI compute reads the profile of the period's year
(:func:`profile_for`): the year's stored profile when the operator has put one
(``PUT /api/v1/parks/{park}/accounting/{year}``), else the park's ``accounting:`` block of the
registry, else the defaults of :class:`~config.accounting.AccountingProfile`, named
``<park>/default``.

Stored as declared values are (:mod:`services.declared`): measurement :data:`ACCOUNTING`, tags
``park`` and ``device`` = ``park``, at the local start of the year, so every process that shares
the store sees the same profile. A store field holds a number only, so the profile's canonical
JSON (UTF-8) is stored as :data:`_BYTES_PER_FIELD`-byte big-endian integers in fields ``b0000``,
``b0001`` … (each below 2^48, exact in a float64) with its length in ``json_bytes``; a rewrite
replaces the fields it names and the length says where the profile ends, so a shorter profile
never reads the tail of a longer one. A delete writes ``json_bytes = 0``.
"""

from __future__ import annotations

from typing import Literal, get_args

from config.accounting import AccountingProfile, ElectricityMethod
from config.errors import InvalidRequestError
from config.factors import emission_factors
from config.registry import ParkRegistry
from services.indicators import default_profile, local_period
from store.base import Point, Store

__all__ = [
    "ACCOUNTING",
    "LEGACY_METHODS",
    "AccountingProfileError",
    "ProfileSource",
    "check_profile",
    "delete_profile",
    "electricity_method",
    "profile_for",
    "profile_source",
    "put_profile",
    "registry_profile",
    "with_method",
]

ACCOUNTING = "accounting_profile"
"""Measurement of stored accounting profiles."""

_DEVICE = "park"  # the one scope a profile has: the park (tenants share their park's accounting)
_LENGTH = "json_bytes"
_BYTES_PER_FIELD = 6  # 48 bits: every such integer is exact in a float64 (53-bit mantissa)
_GRID_FACTOR_UNIT = "kgCO2/kWh"

LEGACY_METHODS: dict[str, ElectricityMethod] = {
    "equivalent_value": "calorific_value",
    "coal_consumption": "coal_equivalent",
}
"""Method names of earlier versions → the GB/T 2589-2020 names that replace them.
``equivalent_value`` meant 当量值 although English texts use "equivalent value" for 等价值."""

ProfileSource = Literal["stored", "registry", "default"]
"""Where a profile came from: ``stored`` (the year's override), ``registry`` (the park's
default in the registry) or ``default`` (neither: the defaults of AccountingProfile)."""


class AccountingProfileError(InvalidRequestError):
    """A profile naming a factor the tables do not have, or an unknown method name."""


# -- what is stored ------------------------------------------------------------------------------


def _year_start_ns(park: ParkRegistry, year: int) -> int:
    return local_period(f"{year:04d}", park.park.timezone).start_ns


def _encode(profile: AccountingProfile) -> dict[str, float]:
    raw = profile.model_dump_json().encode("utf-8")
    fields: dict[str, float] = {_LENGTH: float(len(raw))}
    for i in range(0, len(raw), _BYTES_PER_FIELD):
        chunk = raw[i : i + _BYTES_PER_FIELD].ljust(_BYTES_PER_FIELD, b"\0")
        fields[f"b{i // _BYTES_PER_FIELD:04d}"] = float(int.from_bytes(chunk, "big"))
    return fields


def _decode(fields: dict[str, float]) -> AccountingProfile | None:
    length = int(fields.get(_LENGTH, 0))
    if length <= 0:
        return None
    count = -(-length // _BYTES_PER_FIELD)
    raw = b"".join(int(fields[f"b{i:04d}"]).to_bytes(_BYTES_PER_FIELD, "big") for i in range(count))
    return AccountingProfile.model_validate_json(raw[:length])


def _stored(store: Store, park: ParkRegistry, year: int) -> AccountingProfile | None:
    start_ns = _year_start_ns(park, year)
    fields: dict[str, float] = {}
    for p in store.scan(park.id, measurement=ACCOUNTING, start_ns=start_ns, end_ns=start_ns + 1):
        if p.device == _DEVICE:
            fields.update(p.fields)
    return _decode(fields)


# -- the profile in force ------------------------------------------------------------------------


registry_profile = default_profile
"""The park's default: its registry ``accounting:`` block, else ``<park>/default``."""


def profile_source(
    store: Store, park: ParkRegistry, year: int
) -> tuple[AccountingProfile, ProfileSource]:
    """The profile in force for ``park`` and calendar ``year`` and where it comes from
    (``stored``, ``registry`` or ``default``)."""
    stored = _stored(store, park, year)
    if stored is not None:
        return stored, "stored"
    return registry_profile(park), "registry" if park.park.accounting is not None else "default"


def profile_for(store: Store, park: ParkRegistry, year: int) -> AccountingProfile:
    """The profile in force for ``park`` and calendar ``year`` (park local time): the year's
    stored profile, else the registry default, else ``AccountingProfile(name="<park>/default")``."""
    return profile_source(store, park, year)[0]


def check_profile(profile: AccountingProfile) -> None:
    """Raise :class:`AccountingProfileError`, naming the field, when ``profile`` names a factor
    the emission factor table does not have (``fixed_grid_factor_key``: a key with entries in
    kgCO2/kWh)."""
    key = profile.fixed_grid_factor_key
    if key is None:
        return
    table = emission_factors()
    if {f.unit for f in table.entries if f.key == key} != {_GRID_FACTOR_UNIT}:
        known = sorted({f.key for f in table.entries if f.unit == _GRID_FACTOR_UNIT})
        raise AccountingProfileError(
            f"fixed_grid_factor_key: {key!r} is not a grid factor ({_GRID_FACTOR_UNIT}) of the "
            f"emission factor table; known: {', '.join(known)}"
        )


def put_profile(
    store: Store, park: ParkRegistry, year: int, profile: AccountingProfile
) -> AccountingProfile:
    """Store ``profile`` as the park's profile for calendar ``year``, replacing any stored one;
    returns it as stored. Raises :class:`AccountingProfileError` (nothing stored) for a profile
    naming an unknown factor."""
    check_profile(profile)
    start_ns = _year_start_ns(park, year)
    store.write(
        [Point(ACCOUNTING, {"park": park.id, "device": _DEVICE}, _encode(profile), start_ns)]
    )
    stored = _stored(store, park, year)
    assert stored is not None  # just written
    return stored


def delete_profile(store: Store, park: ParkRegistry, year: int) -> AccountingProfile:
    """Remove the stored profile of ``year`` (nothing happens when there is none); returns the
    profile now in force, the registry default."""
    start_ns = _year_start_ns(park, year)
    tombstone = {_LENGTH: 0.0}
    store.write([Point(ACCOUNTING, {"park": park.id, "device": _DEVICE}, tombstone, start_ns)])
    return profile_for(store, park, year)


# -- one answer's method -------------------------------------------------------------------------


def electricity_method(text: str) -> ElectricityMethod:
    """The method a request names: ``calorific_value`` (当量值) or ``coal_equivalent`` (等价值).

    Raises :class:`AccountingProfileError` for anything else; for the names of earlier versions
    the message says which new name to use."""
    known: tuple[ElectricityMethod, ...] = get_args(ElectricityMethod)
    for method in known:
        if text == method:
            return method
    if text in LEGACY_METHODS:
        new = LEGACY_METHODS[text]
        meant = "当量值, the calorific value" if new == "calorific_value" else "等价值"
        raise AccountingProfileError(
            f"method: {text!r} is no longer accepted; it meant {meant} (GB/T 2589-2020): use "
            f"method={new}"
        )
    raise AccountingProfileError(
        f"method: {text!r} is not a method; use calorific_value (当量值) or "
        "coal_equivalent (等价值)"
    )


def with_method(profile: AccountingProfile, method: ElectricityMethod | None) -> AccountingProfile:
    """``profile`` with its electricity method overridden for one answer (named
    ``"<name> (method overridden: <method>)"``), or ``profile`` itself for None or its own."""
    if method is None or method == profile.electricity_method:
        return profile
    return profile.model_copy(
        update={
            "electricity_method": method,
            "name": f"{profile.name} (method overridden: {method})",
        }
    )
