"""The green-instrument ledger through the store (embedded and a real influxd): entry, the rules
that refuse bad input without changing anything, and matching (GHG Protocol Scope 2 Quality
Criteria, 2015; 1 GEC = 1,000 kWh, 发改能源[2023]1044号)."""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.instruments import month_index
from config.errors import ConflictError, InvalidRequestError, NotFoundError, UnavailableError
from config.registry import ParkRegistry, load_registry
from services.instruments import (
    INSTRUMENT,
    InstrumentConflictError,
    InstrumentNotFoundError,
    InstrumentRecord,
    InvalidInstrumentError,
    delete_instrument,
    get_instrument,
    green_use,
    instruments_for_year,
    list_instruments,
    match_year,
    put_instrument,
    put_instruments,
)
from store.base import Store
from store.embedded import EmbeddedStore

X, Y = "chipcore", "lumina"
T0 = 1_750_000_000 * 10**9  # a fixed write time [ns] (2025-06-15), so versions are ordered


def m(year: int, month: int) -> int:
    return month_index(year, month)


@pytest.fixture(scope="module")
def park() -> ParkRegistry:
    return load_registry().parks["wuhan-demo"]


_FIXTURES = {"embedded": "embedded_store", "influxdb": "influx_store"}


@pytest.fixture(params=["embedded", pytest.param("influxdb", marks=pytest.mark.influxdb)])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(_FIXTURES[request.param])


def gec(id: str = "gec-a", **kw: object) -> InstrumentRecord:
    base: dict[str, object] = {
        "kind": "gec",
        "certificates": 500,
        "generation_from": "2025-01",
        "generation_to": "2025-06",
        "retired_from": "2025-03",
        "retired_to": "2025-03",
        "serial_first": "GEC2025-000001",
        "serial_last": "GEC2025-000500",
    }
    return InstrumentRecord(id=id, **(base | kw))  # type: ignore[arg-type]


def contract(id: str = "ppa-y", **kw: object) -> InstrumentRecord:
    base: dict[str, object] = {
        "kind": "contract",
        "tenant": Y,
        "kwh_per_month": 80_000.0,
        "generation_from": "2025-01",
        "generation_to": "2025-12",
        "counterparty": "湖北风电 Hubei Wind & Co. = 100% ?",
    }
    return InstrumentRecord(id=id, **(base | kw))  # type: ignore[arg-type]


def stored_points(store: Store, park: ParkRegistry) -> list[object]:
    return list(store.scan(park.id, measurement=INSTRUMENT, start_ns=0, end_ns=2**62))


# -- entry ------------------------------------------------------------------------------------


def test_records_come_back_as_entered(store: Store, park: ParkRegistry) -> None:
    a = put_instrument(store, park, gec(cancellation_id="HX/2025 #1"), entered_by="ops", now_ns=T0)
    b = put_instrument(store, park, contract(), now_ns=T0)
    assert a.updated_ns == T0
    assert b.updated_ns == T0 + 1  # a later version than every stored one
    got = get_instrument(store, park, "gec-a")
    assert got == a
    assert (got.certificates, got.vintage, got.serial_first, got.serial_last) == (
        500,
        2025,
        "GEC2025-000001",
        "GEC2025-000500",
    )
    assert (got.cancellation_id, got.entered_by, got.tenant) == ("HX/2025 #1", "ops", None)
    assert got.energy_kwh == 500_000.0  # 500 GEC × 1,000 kWh
    ppa = get_instrument(store, park, "ppa-y")
    assert ppa.counterparty == "湖北风电 Hubei Wind & Co. = 100% ?"
    # a contract's consumption period defaults to its delivery months: 12 × 80,000 kWh
    assert (ppa.retired_from, ppa.retired_to, ppa.energy_kwh) == ("2025-01", "2025-12", 960_000.0)
    assert [r.id for r in list_instruments(store, park)] == ["gec-a", "ppa-y"]
    assert [r.id for r in list_instruments(store, park, tenant=Y)] == ["ppa-y"]
    assert list_instruments(store, park, year=2026) == []


def test_writing_an_id_again_replaces_it_and_deleting_frees_its_certificates(
    store: Store, park: ParkRegistry
) -> None:
    put_instrument(store, park, gec(), now_ns=T0)
    # the same id with the same serials is a correction, not a second retirement
    put_instrument(store, park, gec(certificates=400, serial_last="GEC2025-000400"), now_ns=T0)
    (only,) = list_instruments(store, park)
    assert (only.certificates, only.energy_kwh) == (400, 400_000.0)
    gone = delete_instrument(store, park, "gec-a", now_ns=T0)
    assert gone.certificates == 400
    assert list_instruments(store, park) == []
    with pytest.raises(InstrumentNotFoundError, match="no instrument 'gec-a'"):
        get_instrument(store, park, "gec-a")
    with pytest.raises(NotFoundError):
        delete_instrument(store, park, "gec-a")
    # its serials may now be entered under another id
    put_instrument(store, park, gec("gec-b"), now_ns=T0)
    assert [r.id for r in list_instruments(store, park)] == ["gec-b"]
    assert len(stored_points(store, park)) == 4  # every version is kept


# -- bad input: a clear error naming the field, nothing changed --------------------------------

INVALID = [
    # (record, field, code)
    (
        gec(certificates=0, serial_first=None, serial_last=None, cancellation_id="c"),
        "certificates",
        "not_positive",
    ),
    (
        gec(certificates=-5, serial_first=None, serial_last=None, cancellation_id="c"),
        "certificates",
        "not_positive",
    ),
    (contract(kwh_per_month=0.0), "kwh_per_month", "not_positive"),
    (contract(kwh_per_month=-1.0), "kwh_per_month", "not_positive"),
    (contract(kwh_per_month=math.nan), "kwh_per_month", "not_positive"),
    (contract(tenant="nobody"), "tenant", "unknown_tenant"),
    # vintage 2022, valid 24 months from 2022-01 (to 2023-12), retired against 2025-03
    (gec(generation_from="2022-01", generation_to="2022-12"), "vintage", "retired_after_validity"),
    # generated from 2025-06, retired against 2025-03: before the power existed
    (
        gec(generation_from="2025-06", generation_to="2025-12"),
        "vintage",
        "retired_before_generation",
    ),
    # delivered 2025-01..2025-06, retired against 2025-07..2025-09
    (
        contract(generation_to="2025-06", retired_from="2025-07", retired_to="2025-09"),
        "retired_from",
        "retired_outside_generation",
    ),
    (gec(vintage=2024), "vintage", "bad_vintage"),
    (gec(retired_from="2025-3"), "retired_from", "bad_month"),
    (gec(generation_to="2025-13"), "generation_to", "bad_month"),
    (gec(retired_from="2025-11", retired_to="2026-02"), "retired_to", "bad_period"),
    (gec(retired_from="2025-05", retired_to="2025-04"), "retired_to", "bad_period"),
    (gec(retired_from=None, retired_to=None), "retired_from", "required"),
    (gec(retired_to=None), "retired_to", "required"),
    # GEC2025-000001..GEC2025-000499 are 499 serials, not 500
    (gec(serial_last="GEC2025-000499"), "serial_last", "serial_count"),
    (gec(serial_last="GEC2026-000500"), "serial_last", "bad_serial"),
    (gec(serial_first=None, serial_last=None), "serial_first", "required"),
    (gec(serial_first="GEC 1"), "serial_first", "bad_serial"),
    (gec(certificates=None), "certificates", "required"),
    (contract(counterparty=None), "counterparty", "required"),
    (contract(kwh_per_month=None), "kwh_per_month", "required"),
    (contract(certificates=3), "certificates", "not_allowed"),
    (contract(counterparty="line\nbreak"), "counterparty", "bad_text"),
    (gec("bad id?"), "id", "bad_id"),
]


@pytest.mark.parametrize(("record", "field", "code"), INVALID)
def test_invalid_records_are_refused_naming_the_field(
    embedded_store: Store, park: ParkRegistry, record: InstrumentRecord, field: str, code: str
) -> None:
    put_instrument(embedded_store, park, gec("kept", serial_first="K-1", serial_last="K-500"))
    before = stored_points(embedded_store, park)
    with pytest.raises(InvalidInstrumentError) as caught:
        put_instrument(embedded_store, park, record)
    assert isinstance(caught.value, InvalidRequestError)
    assert (field, code) in [(p.field, p.code) for p in caught.value.problems]
    assert str(caught.value).startswith(f"{caught.value.problems[0].field}: ")
    assert stored_points(embedded_store, park) == before


def test_conflicts_are_refused_on_both_stores_and_change_nothing(
    store: Store, park: ParkRegistry
) -> None:
    put_instrument(store, park, gec(cancellation_id="HX-1"), now_ns=T0)
    before = stored_points(store, park)
    cases = [
        # GEC2025-000401..000600 overlaps 000001..000500 in 000401..000500
        (
            gec("b", certificates=200, serial_first="GEC2025-000401", serial_last="GEC2025-000600"),
            "serial_first",
            "overlapping_serials",
        ),
        # the same range again under another id: retired twice
        (gec("c"), "serial_first", "overlapping_serials"),
        (
            gec("d", serial_first=None, serial_last=None, cancellation_id="HX-1"),
            "cancellation_id",
            "retired_twice",
        ),
        (contract("e", cancellation_id="HX-1"), "cancellation_id", "retired_twice"),
    ]
    for record, field, code in cases:
        with pytest.raises(InstrumentConflictError) as caught:
            put_instrument(store, park, record)
        assert isinstance(caught.value, ConflictError)
        assert [(p.field, p.code) for p in caught.value.problems] == [(field, code)]
        assert "'gec-a'" in str(caught.value)  # names the instrument it clashes with
    assert stored_points(store, park) == before
    # a range that only touches it is fine: 000501..000600
    put_instrument(
        store,
        park,
        gec("f", certificates=100, serial_first="GEC2025-000501", serial_last="GEC2025-000600"),
    )


def test_a_batch_is_all_or_nothing_and_checks_its_own_lines(
    park: ParkRegistry, tmp_path: Path
) -> None:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    batch = [
        gec("one"),
        contract(),
        gec("two", serial_first="GEC2025-000500", serial_last="GEC2025-000999"),
    ]
    with pytest.raises(InstrumentConflictError) as caught:
        put_instruments(store, park, batch)
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("serial_first", "overlapping_serials")
    ]
    assert str(caught.value).startswith("serial_first: instrument 'two': ")
    with pytest.raises(InvalidInstrumentError, match="'one' is given twice"):
        put_instruments(
            store, park, [gec("one"), gec("one", serial_first="Z-1", serial_last="Z-500")]
        )
    assert stored_points(store, park) == []
    store.close()


# -- matching -----------------------------------------------------------------------------------


def consumption(park_kwh: float, **tenants: float) -> dict[tuple[int, str | None], float]:
    out: dict[tuple[int, str | None], float] = {(m(2025, k), None): park_kwh for k in range(1, 13)}
    for tenant, kwh in tenants.items():
        out |= {(m(2025, k), tenant): kwh for k in range(1, 13)}
    return out


def test_match_year_known_values(store: Store, park: ParkRegistry) -> None:
    # park: 500 GEC = 500,000 kWh retired against March only; March consumed 300,000 kWh
    # → 300,000 kWh green in March, 200,000 unused, no other month gets any.
    # lumina: 80,000 kWh/month traded; it consumes 50,000 kWh a month → 50,000 green each month;
    # January's unused 30,000 kWh never move to February (power delivered in a month covers that
    # month): 12 × 30,000 = 360,000 kWh unused.
    # chipcore: 100 GEC = 100,000 kWh for the year; 40,000 kWh a month → January 40,000,
    # February 40,000, March 20,000; lumina's figures are untouched by it.
    put_instrument(store, park, gec(), now_ns=T0)
    put_instrument(store, park, contract(), now_ns=T0)
    put_instrument(
        store,
        park,
        gec(
            "gec-x",
            tenant=X,
            certificates=100,
            generation_from="2025-01",
            generation_to="2025-12",
            retired_from="2025-01",
            retired_to="2025-12",
            serial_first="X-1",
            serial_last="X-100",
        ),
        now_ns=T0,
    )
    result = match_year(
        store, park, 2025, consumption(300_000.0, chipcore=40_000.0, lumina=50_000.0)
    )
    mar = m(2025, 3)
    assert result.green_kwh(mar) == 300_000.0 - 50_000.0 - 20_000.0
    assert [result.green_kwh(k, X) for k in range(m(2025, 1), m(2025, 5))] == [
        40_000.0,
        40_000.0,
        20_000.0,
        0.0,
    ]
    assert [result.green_kwh(k, Y) for k in range(m(2025, 1), m(2025, 1) + 12)] == [50_000.0] * 12
    # March: tenants first (50,000 + 20,000), the park batch takes what the park total leaves
    assert result.park_green_kwh(mar) == 300_000.0
    use = green_use(result, list_instruments(store, park, year=2025))
    assert use.green_kwh[(mar, None)] == {"gec": 230_000.0}
    assert use.green_kwh[(mar, Y)] == {"contract": 50_000.0}
    assert use.park_total_kwh(mar) == 300_000.0
    by_id = {u.record.id: u for u in use.instruments}
    assert (by_id["gec-a"].used_kwh, by_id["gec-a"].unused_kwh, by_id["gec-a"].months) == (
        230_000.0,
        270_000.0,
        (mar,),
    )
    assert (by_id["ppa-y"].used_kwh, by_id["ppa-y"].unused_kwh) == (600_000.0, 360_000.0)
    assert by_id["gec-x"].months == (m(2025, 1), m(2025, 2), mar)
    # contracts reach the matcher one month at a time
    ids = sorted(i.id for i in instruments_for_year(store, park, 2025))
    assert ids[:2] == ["gec-a", "gec-x"]
    assert ids[2:4] == ["ppa-y@2025-01", "ppa-y@2025-02"]
    assert len(ids) == 14


def test_unknown_consumption_gets_nothing(embedded_store: Store, park: ParkRegistry) -> None:
    put_instrument(embedded_store, park, contract())
    kwh = consumption(100_000.0, lumina=50_000.0)
    kwh[(m(2025, 2), None)] = math.nan  # the park total of February is unknown
    kwh[(m(2025, 3), Y)] = math.nan
    del kwh[(m(2025, 4), None)]
    del kwh[(m(2025, 4), Y)]
    result = match_year(embedded_store, park, 2025, kwh)
    got = [result.green_kwh(k, Y) for k in range(m(2025, 1), m(2025, 6))]
    assert got == [50_000.0, 0.0, 0.0, 0.0, 50_000.0]
    with pytest.raises(ValueError, match="finite and >= 0"):
        match_year(embedded_store, park, 2025, {(m(2025, 1), None): -1.0})


# -- properties through the service ------------------------------------------------------------

TENANTS = [None, X, Y]


@st.composite
def records(draw: st.DrawFn) -> list[InstrumentRecord]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["gec", "contract", "direct"]))
        tenant = draw(st.sampled_from(TENANTS))
        g1 = draw(st.integers(1, 12))
        g2 = draw(st.integers(g1, 12))
        if kind == "gec":
            r1 = draw(st.integers(g1, 12))
            r2 = draw(st.integers(r1, 12))
            n = draw(st.integers(1, 2000))
            out.append(
                InstrumentRecord(
                    id=f"i{i}",
                    kind="gec",
                    tenant=tenant,
                    certificates=n,
                    generation_from=f"2025-{g1:02d}",
                    generation_to=f"2025-{g2:02d}",
                    retired_from=f"2025-{r1:02d}",
                    retired_to=f"2025-{r2:02d}",
                    serial_first=f"S{i}-1",
                    serial_last=f"S{i}-{n}",
                )
            )
        else:
            kwh = draw(st.floats(1.0, 500_000.0))
            out.append(
                InstrumentRecord(
                    id=f"i{i}",
                    kind=kind,
                    tenant=tenant,
                    kwh_per_month=kwh,
                    generation_from=f"2025-{g1:02d}",
                    generation_to=f"2025-{g2:02d}",
                    counterparty="c",
                )
            )
    return out


kwh_values = st.floats(0.0, 1_000_000.0) | st.just(math.nan)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    recs=records(),
    park_kwh=st.lists(kwh_values, min_size=12, max_size=12),
    tenant_kwh=st.lists(kwh_values, min_size=24, max_size=24),
)
def test_matching_never_uses_more_than_it_has_or_than_was_consumed(
    park: ParkRegistry, recs: list[InstrumentRecord], park_kwh: list[float], tenant_kwh: list[float]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedStore(Path(folder) / "s.sqlite3")
        try:
            put_instruments(store, park, recs)
            kwh: dict[tuple[int, str | None], float] = {}
            for k in range(12):
                kwh[(m(2025, k + 1), None)] = park_kwh[k]
                kwh[(m(2025, k + 1), X)] = tenant_kwh[k]
                kwh[(m(2025, k + 1), Y)] = tenant_kwh[12 + k]
            result = match_year(store, park, 2025, kwh)
            stored = list_instruments(store, park, year=2025)
        finally:
            store.close()
    use = green_use(result, stored)
    eps = 1e-6
    for u in use.instruments:  # never more than an instrument has
        assert u.used_kwh <= u.record.energy_kwh * (1 + 1e-12) + eps
        assert math.isclose(
            u.used_kwh + u.unused_kwh, u.record.energy_kwh, rel_tol=1e-9, abs_tol=eps
        )
    per_bucket: dict[tuple[int, str | None], float] = defaultdict(float)
    by_id = {r.id: r for r in stored}
    for a in result.allocations:
        rec = by_id[a.instrument_id.partition("@")[0]]
        assert a.tenant == rec.tenant  # a tenant's instrument covers that tenant only
        assert a.month in rec.retired_months
        per_bucket[(a.month, a.tenant)] += a.energy_kwh
    for (month, tenant), got in per_bucket.items():  # never more than the consumption
        consumed = kwh[(month, tenant)]
        assert not math.isnan(consumed)
        assert got <= consumed + eps
    for k in range(12):  # tenants and park-scoped together never above the park
        month = m(2025, k + 1)
        total = sum(v for (mm, _), v in per_bucket.items() if mm == month)
        assert total <= (0.0 if math.isnan(park_kwh[k]) else park_kwh[k]) + eps
        assert math.isclose(total, use.park_total_kwh(month), rel_tol=1e-12, abs_tol=eps)


def test_a_ledger_too_long_to_read_whole_is_an_error_not_a_silent_cut(
    embedded_store: Store, park: ParkRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.instruments

    put_instrument(embedded_store, park, gec(), now_ns=T0)
    put_instrument(embedded_store, park, contract(), now_ns=T0)
    monkeypatch.setattr(services.instruments, "_MAX_VERSIONS", 2)
    with pytest.raises(UnavailableError, match="2 or more instrument versions"):
        list_instruments(embedded_store, park)
    monkeypatch.setattr(services.instruments, "_MAX_VERSIONS", 3)
    assert len(list_instruments(embedded_store, park)) == 2
