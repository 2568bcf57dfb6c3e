"""A figure's sum over several meters given by the roll-up ledger itself
(:meth:`services.rollup.RollupLedger.sum_series`): per interval what each meter's ledger combined
gives, and, for one meter of a totals-only group, per day every count the 15-minute ledger has."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import services.rollup
from analytics.intervals import KNOWN_TOTAL, Quality
from config.registry import ParkRegistry, load_registry
from services.energy import Balance, Scope, energy_balance
from services.indicators import default_profile, scope_indicators
from services.indicators.hybrid import rollup_plan
from services.ledger import LEDGER, FieldLedger, rebuild_ledger, stored_ledger
from services.rollup import (
    IntervalKeep,
    RollupLedger,
    RollupReads,
    day_digests,
    write_day_rollups,
)
from store.base import TELEMETRY, Point, SeriesQuery, Store
from tests.rollup.test_rollup_path import (
    PERIODS,
    REGISTRY,
    SCOPES,
    at,
    late_reading_and_replacement,
    load,
)

DAYS = 7  # 1 to 8 March
EXACT = [int(q) for q in KNOWN_TOTAL]


@pytest.fixture
def park(tmp_path: Path) -> ParkRegistry:
    path = tmp_path / "p.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return load_registry(path).parks["p"]


@pytest.fixture(params=["embedded", "influx"])
def store(request: pytest.FixtureRequest) -> Store:
    found: Store = request.getfixturevalue(f"{request.param}_store")
    return found


def per_meter(ledger: RollupLedger) -> Callable[..., list[FieldLedger]]:
    """The same ledger without ``sum_series``: every figure combined from each meter's series."""

    def read(*args: object, **kwargs: object) -> list[FieldLedger]:
        return ledger(*args, **kwargs)

    return read


def balances(store: Store, reg: ParkRegistry, scope: Scope) -> tuple[Balance, Balance, int]:
    narrow, ledger = rollup_plan(reg, scope, default_profile(reg))
    span = {"start_ns": at(1), "end_ns": at(8)}
    summed = energy_balance(store, narrow, scope, ledger=ledger, **span)
    _, again = rollup_plan(reg, scope, default_profile(reg))
    combined = energy_balance(store, narrow, scope, ledger=per_meter(again), **span)
    return summed, combined, ledger.summed


def by_day(values: np.ndarray) -> np.ndarray:
    return values.reshape(DAYS, -1)


TOTALS_ONLY = ("gas", "heat", "production")  # services.indicators.hybrid._GROUPED_ROLES


def same_days(got: Balance, full: Balance, name: str, *, measured: bool = True) -> int:
    """Assert that figure ``name`` has, per day, the sum and every count of ``full``'s (the
    measured count only with ``measured``: a figure of several meters has it exact on the days
    read at 15 minutes only, services.rollup.RollupLedger); returns the intervals laid out (0
    after a day's first)."""
    a, b = got.figure(name), full.figure(name)
    assert a is not None
    assert b is not None
    e, q = a.series.energy, a.series.quality
    fe, fq = b.series.energy, b.series.quality
    np.testing.assert_allclose(
        np.nansum(by_day(e), axis=1), np.nansum(by_day(fe), axis=1), rtol=1e-12, err_msg=name
    )
    masks = [lambda x, y: np.isfinite(x), lambda x, y: np.isin(y, EXACT)]
    if measured:
        masks.append(lambda x, y: y == Quality.MEASURED)
    for mask in masks:
        assert np.array_equal(by_day(mask(e, q)).sum(axis=1), by_day(mask(fe, fq)).sum(axis=1)), (
            name
        )
    assert np.array_equal(by_day(q).max(axis=1), by_day(fq).max(axis=1)), name
    return int(np.count_nonzero(by_day(e)[:, 1:] == 0.0))


def lumped_days(summed: Balance, combined: Balance) -> np.ndarray:
    """The days a figure of several meters in ``summed`` gives as its sum in the first interval
    where the meters combined give intervals."""
    out = np.zeros(DAYS, dtype=bool)
    for fig in summed.figures:
        want = combined.figure(fig.name)
        if len(fig.devices) > 1 and want is not None:
            e, w = by_day(fig.series.energy), by_day(want.series.energy)
            out |= (e[:, 1:] == 0.0).all(axis=1) & (w[:, 1:] != 0.0).any(axis=1)
    return out


def test_sums_equal_the_meters_combined(store: Store, park: ParkRegistry) -> None:
    load(store, park)
    laid_out = lumps = 0
    for scope in SCOPES:
        summed, combined, count = balances(store, park, scope)
        assert count > 0, scope  # the sums were given by the ledger, not combined per meter
        full = energy_balance(
            store, park, scope, start_ns=at(1), end_ns=at(8), ledger=stored_ledger
        )
        for fig in combined.figures:
            got = summed.figure(fig.name)
            assert got is not None
            if fig.name.split("_")[0] in TOTALS_ONLY:  # per day, every count and the sum
                # of the 15-minute ledger for one meter; of the meters combined for several
                # (whose measured share is exact on the days read at 15 minutes only)
                one = len(fig.devices) == 1
                laid_out += same_days(summed, full if one else combined, fig.name, measured=one)
                continue
            # the same series interval by interval, but on the days a figure of several meters
            # gives as its sum in the first interval (those it is not needed at 15 minutes on:
            # wholly known with exact totals, the grid not exporting), on which every figure
            # has the same sum and every count but the measured one
            e, q = got.series.energy, got.series.quality
            want_e, want_q = fig.series.energy, fig.series.quality
            same_days(summed, combined, fig.name, measured=False)
            on = ~np.repeat(lumped_days(summed, combined), e.size // DAYS)
            assert np.array_equal(np.isnan(e[on]), np.isnan(want_e[on])), (scope, fig.name)
            np.testing.assert_allclose(e[on], want_e[on], rtol=1e-12, err_msg=f"{scope} {fig.name}")
            assert np.array_equal(q[on], want_q[on]), (scope, fig.name)
            lumps += int(np.count_nonzero(~on))
    assert laid_out > 0  # some days were laid out from the roll-up
    assert lumps > 0  # and some PV days given as sums, though read at 15 minutes


def test_a_figure_keeps_its_days_until_a_meter_day_changes(
    store: Store, park: ParkRegistry
) -> None:
    load(store, park)
    scope = Scope("park")
    span = {"start_ns": at(1), "end_ns": at(8)}

    def figures() -> tuple[Balance, RollupLedger]:
        narrow, ledger = rollup_plan(park, scope, default_profile(park))
        return energy_balance(store, narrow, scope, ledger=ledger, **span), ledger

    def per_meter_figures() -> Balance:
        narrow, ledger = rollup_plan(park, scope, default_profile(park))
        return energy_balance(store, narrow, scope, ledger=per_meter(ledger), **span)

    _, ledger = figures()
    assert ledger.kept_days == 2 * DAYS  # gas (2 meters) and PV (2 meters): kept
    again, ledger = figures()
    assert ledger.cached_days == 2 * DAYS  # and read back
    assert ledger.kept_days == 0
    combined = per_meter_figures()
    same_days(again, combined, "gas_m3", measured=False)
    full = energy_balance(store, park, scope, ledger=stored_ledger, **span)
    export_days = [1, 4]  # 2 and 5 March: the grid exports at noon
    for name in ("pv_generation_kwh", "pv_self_consumption_kwh", "load_kwh"):
        same_days(again, combined, name, measured=False)
        a, b = again.figure(name), full.figure(name)
        assert a is not None
        assert b is not None
        got, want = by_day(a.series.energy)[export_days], by_day(b.series.energy)[export_days]
        np.testing.assert_allclose(got.sum(axis=1), want.sum(axis=1), rtol=1e-12, err_msg=name)
        if name == "load_kwh":
            continue  # only ever summed: its shape on those days is the battery's lump
        # PV's interval shape where a figure needs it: the days with export, kept at 15 minutes
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
        assert np.array_equal(
            by_day(a.series.quality)[export_days], by_day(b.series.quality)[export_days]
        )
    # the battery enters only the load's sums: on a day with export it comes from its roll-up
    # (the day's energy in its first interval), not from 15 minutes as PV must
    for name in ("battery_charge_kwh", "battery_discharge_kwh"):
        a, b = again.figure(name), full.figure(name)
        assert a is not None
        assert b is not None
        got, want = by_day(a.series.energy)[export_days], by_day(b.series.energy)[export_days]
        np.testing.assert_allclose(got.sum(axis=1), want.sum(axis=1), rtol=1e-12, err_msg=name)
        assert np.all(got[:, 1:] == 0.0), name
        assert np.count_nonzero(want[:, 1:]) > 0, name
    # gas1 is replaced on 4 March: its days from 4 March change, so do the gas figure's
    late_reading_and_replacement(store, park)
    after, ledger = figures()
    assert 0 < ledger.kept_days < 2 * DAYS
    same_days(after, per_meter_figures(), "gas_m3", measured=False)


def test_an_interval_rewritten_missing_is_missing_although_its_old_energy_stays(
    store: Store, park: ParkRegistry
) -> None:
    # the ledger rewrites an interval it no longer knows with its quality alone: on InfluxDB the
    # old energy field of that point stays. The sums must count the interval unknown, as the
    # meter's own stored ledger does.
    load(store, park)
    t = at(3, 10)
    store.write([Point(LEDGER, {"park": "p", "device": "gas2"}, {"volume_m3_quality": 6.0}, t)])
    write_day_rollups(
        store, park, start_ns=at(3), end_ns=at(4), devices=["gas2"], ledger=stored_ledger
    )
    summed, combined, _ = balances(store, park, Scope("park"))
    gas, want = summed.figure("gas_m3"), combined.figure("gas_m3")
    assert gas is not None
    assert want is not None
    k = (t - at(1)) // (900 * 10**9)
    assert np.isnan(want.series.energy[k])
    # the figure (totals only) gives the day laid out: its sum and every count are the meters'
    same_days(summed, combined, "gas_m3", measured=False)
    day = by_day(gas.series.quality)[2]  # 3 March: one interval missing
    assert np.count_nonzero(day == Quality.MISSING) == 1


def test_a_day_kept_whole_is_read_again_when_the_grid_starts_exporting_on_it(
    store: Store, park: ParkRegistry
) -> None:
    # 1 March had no export and no gap: PV's day was kept as a sum. Export readings for its
    # noon arrive late; PV self-consumption now needs PV per interval on that day: read at
    # 15 minutes
    load(store, park)
    scope = Scope("park")
    span = {"start_ns": at(1), "end_ns": at(8)}
    narrow, ledger = rollup_plan(park, scope, default_profile(park))
    energy_balance(store, narrow, scope, ledger=ledger, **span)
    assert ledger.kept_days > 0
    day = by_day(
        energy_balance(store, narrow, scope, ledger=ledger, **span)
        .figure("pv_generation_kwh")
        .series.energy
    )[0]
    assert np.count_nonzero(day) == 1  # kept as the day's sum in its first interval
    t = np.arange(at(1, 11), at(1, 14), 900 * 10**9, dtype=np.int64)
    before = store.series(SeriesQuery("p", "grid", "export_energy_kwh", at(1, 10), at(1, 11) + 1))
    start = before[-1].value
    store.write(
        [
            Point(TELEMETRY, {"park": "p", "device": "grid"}, {"export_energy_kwh": v}, int(ts))
            for ts, v in zip(
                t.tolist(), (start + np.arange(1, t.size + 1) * 2.5).tolist(), strict=True
            )
        ]
    )
    after_noon = store.series(SeriesQuery("p", "grid", "export_energy_kwh", at(1, 14), at(8)))
    store.write(
        [
            Point(
                TELEMETRY,
                {"park": "p", "device": "grid"},
                {"export_energy_kwh": r.value + 2.5 * t.size},
                r.time_ns,
            )
            for r in after_noon
        ]
    )
    rebuild_ledger(store, park, start_ns=at(1), end_ns=at(2), devices=["grid"])
    write_day_rollups(store, park, start_ns=at(1), end_ns=at(2), devices=["grid"])
    narrow, ledger = rollup_plan(park, scope, default_profile(park))
    got = energy_balance(store, narrow, scope, ledger=ledger, **span)
    full = energy_balance(store, park, scope, ledger=stored_ledger, **span)
    for name in ("pv_generation_kwh", "pv_self_consumption_kwh"):
        a, b = got.figure(name), full.figure(name)
        assert a is not None
        assert b is not None
        np.testing.assert_allclose(
            by_day(a.series.energy)[0], by_day(b.series.energy)[0], rtol=1e-12
        )
    assert np.nanmax(by_day(full.figure("grid_export_kwh").series.energy)[0]) > 0  # it exports


def test_a_day_digest_is_its_intervals_and_nothing_else() -> None:
    rng = np.random.default_rng(3)
    energy = rng.integers(0, 400, 96 * 3) * 0.25
    energy[96 + 40] = 0.0  # where the sign of zero is changed below
    quality = np.zeros(96 * 3, dtype=np.int8)
    bounds = np.array([0, 96, 192, 288])
    digests = day_digests(energy, quality, bounds)
    assert len(set(digests.tolist())) == 3
    assert all(d == int(d) and 0 <= d < 2**48 for d in digests.tolist())
    # the same day alone, or inside a longer ledger, has the same digest
    assert day_digests(energy[96:192], quality[96:192], np.array([0, 96]))[0] == digests[1]
    assert day_digests(energy, quality, np.array([96, 192]))[0] == digests[1]
    changed = []
    for k, change in enumerate(("energy", "quality", "order", "missing", "sign of zero")):
        e, q = energy.copy(), quality.copy()
        at = 96 + 10 * k
        if change == "energy":
            e[at] += 1e-9
        elif change == "quality":
            q[at] = Quality.INTERPOLATED
        elif change == "order":
            e[[at, at + 1]] = [e[at] + 0.25, e[at + 1] - 0.25]  # the same day total
        elif change == "missing":
            e[at] = np.nan
        else:
            e[at] = -0.0
        got = day_digests(e, q, bounds)
        assert got[0] == digests[0]
        assert got[2] == digests[2]
        changed.append(bool(got[1] != digests[1]))
    # every real change of the day changes its digest; -0.0 is 0.0
    assert changed == [True, True, True, True, False]


def test_a_day_made_of_reads_older_than_the_digests_is_not_kept(
    store: Store, park: ParkRegistry
) -> None:
    # one request (a report) reads gas1's 3 March at 15 minutes (an estimated interval makes
    # it unclean) for the week to 5 March; the follower then rewrites that day; later in the
    # same request the figure for 3 to 6 March is made with the 15 minutes the request holds
    # (older than the digest it reads now): that day must not be kept under the new digest,
    # or the next request would take the old day for the new one
    load(store, park)
    scope = Scope("park")

    def rewrite(value: float) -> None:
        t = np.arange(at(3, 6), at(3, 8), 900 * 10**9, dtype=np.int64)
        fields = {"volume_m3": value, "volume_m3_quality": float(Quality.ESTIMATED)}
        store.write([Point(LEDGER, {"park": "p", "device": "gas1"}, fields, x) for x in t.tolist()])
        write_day_rollups(
            store, park, start_ns=at(3), end_ns=at(4), devices=["gas1"], ledger=stored_ledger
        )

    def gas(reads: RollupReads | None, lo: int, hi: int, *, meters: bool = False) -> Balance:
        narrow, ledger = rollup_plan(park, scope, default_profile(park), reads)
        fn = per_meter(ledger) if meters else ledger
        return energy_balance(store, narrow, scope, ledger=fn, start_ns=at(lo), end_ns=at(hi))

    rewrite(5.0)
    shared = RollupReads()
    gas(shared, 1, 5)
    rewrite(99.0)  # the follower, between two parts of the request
    gas(shared, 3, 6)  # the same request: 3 March cut from what it read before
    fresh, want = gas(None, 3, 6), gas(None, 3, 6, meters=True)
    a, b = fresh.figure("gas_m3"), want.figure("gas_m3")
    assert a is not None
    assert b is not None
    np.testing.assert_allclose(
        np.nansum(a.series.energy.reshape(3, -1), axis=1),
        np.nansum(b.series.energy.reshape(3, -1), axis=1),
        rtol=1e-12,
    )


def test_kept_intervals_are_read_again_only_where_a_day_digest_changed(
    store: Store, park: ParkRegistry
) -> None:
    # serve's IntervalKeep across requests: the grid meter's and the PV figure's 15 minutes of
    # 2 March (an export day: PV at 15 minutes) change; the next requests give the new
    # intervals, read again for that day only, as the stored full path does
    load(store, park)
    scope = Scope("park")
    keep = IntervalKeep()

    def request() -> Balance:
        narrow, ledger = rollup_plan(park, scope, default_profile(park), RollupReads(keep=keep))
        return energy_balance(store, narrow, scope, ledger=ledger, start_ns=at(1), end_ns=at(8))

    def rewrite(device: str, field: str, value: float) -> None:
        t = np.arange(at(2, 12), at(2, 13), 900 * 10**9, dtype=np.int64)
        fields = {field: value, field + "_quality": float(Quality.MEASURED)}
        store.write([Point(LEDGER, {"park": "p", "device": device}, fields, x) for x in t.tolist()])
        write_day_rollups(
            store, park, start_ns=at(2), end_ns=at(3), devices=[device], ledger=stored_ledger
        )

    request()  # makes the PV figure and keeps it in the store; the keep holds what it read
    request()  # the figure's kept 15 minutes and the grid meter's, from the keep
    assert keep.days_kept > 0
    read = keep.days_read
    rewrite("pv", "energy_kwh", 7.25)
    rewrite("grid", "energy_kwh", 3.5)
    request()  # 2 March of the PV figure made again from its meters, kept again, and its
    made = keep.days_read  # 15 minutes held by the keep under the new digest, as kept
    got = request()  # ... so nothing is read: every day's digest is the one held
    assert keep.days_read == made
    full = energy_balance(store, park, scope, ledger=stored_ledger, start_ns=at(1), end_ns=at(8))
    for name in ("pv_generation_kwh", "grid_import_kwh"):
        a, b = got.figure(name), full.figure(name)
        assert a is not None, name
        assert b is not None, name
        day = slice(96, 192)  # 2 March
        np.testing.assert_allclose(a.series.energy[day], b.series.energy[day], rtol=1e-12)
        assert np.array_equal(a.series.quality[day], b.series.quality[day]), name
    assert 0 < keep.days_read - read <= 4  # 2 March again: the grid meter's, PV's meters'


def test_a_figure_quick_to_make_is_not_kept(
    store: Store, park: ParkRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the default: a figure made from its meters faster than KEEP_AFTER_S is not written back
    monkeypatch.setattr(services.rollup, "KEEP_AFTER_S", 3600.0)
    load(store, park)
    scope = Scope("park")
    narrow, ledger = rollup_plan(park, scope, default_profile(park))
    got = energy_balance(store, narrow, scope, ledger=ledger, start_ns=at(1), end_ns=at(8))
    assert ledger.summed > 0
    assert ledger.kept_days == 0
    narrow, again = rollup_plan(park, scope, default_profile(park))
    energy_balance(store, narrow, scope, ledger=again, start_ns=at(1), end_ns=at(8))
    assert again.cached_days == 0
    want = energy_balance(
        store, narrow, scope, ledger=per_meter(again), start_ns=at(1), end_ns=at(8)
    )
    same_days(got, want, "gas_m3", measured=False)


def test_a_figure_reads_the_same_to_the_last_bit_before_and_after_it_is_kept(
    store: Store, park: ParkRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /targets judges the number /indicators shows: the first request makes a figure from its
    # meters (and keeps it), the next reads it kept; both must give the same series, hence the
    # same floats (a period summed interval by interval or day by day differs in the last bits;
    # the readings here are not multiples of 0.25, so it would show)
    import tests.rollup.test_rollup_path as path

    exact = path.readings

    def inexact(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        t, v = exact(*args, **kwargs)  # type: ignore[arg-type]
        return t, v * 1.1

    monkeypatch.setattr(path, "readings", inexact)
    load(store, park)
    seen: list[tuple[dict[tuple[str, str], tuple[bytes, bytes]], dict[tuple[str, ...], object]]]
    seen = []
    for keep in (3600.0, 0.0, 0.0):  # made and not kept, made and kept, read back
        monkeypatch.setattr(services.rollup, "KEEP_AFTER_S", keep)
        series, values = {}, {}
        for scope in SCOPES:
            narrow, ledger = rollup_plan(park, scope, default_profile(park))
            bal = energy_balance(store, narrow, scope, ledger=ledger, start_ns=at(1), end_ns=at(8))
            for fig in bal.figures:
                e, q = fig.series.energy, fig.series.quality
                series[str(scope), fig.name] = (np.nan_to_num(e, nan=-1.0).tobytes(), q.tobytes())
            for period in PERIODS:
                for i in scope_indicators(store, park, period, scope=scope).indicators:
                    values[str(scope), period, i.name] = i.value
        seen.append((series, values))
    (made, made_values), (kept, kept_values), (cached, cached_values) = seen
    assert sum(v is not None for v in made_values.values()) > 100
    assert made == kept
    assert made == cached
    assert made_values == kept_values == cached_values
