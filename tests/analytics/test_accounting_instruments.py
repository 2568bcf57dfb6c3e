"""Green-instrument matching: GHG Protocol Scope 2 Quality Criteria (2015) and 910 scope rules.

Unique claim: every kWh of an instrument is claimed once — never in two months, two tenants or
two years — and never above the consumption it is matched to. 1 GEC = 1,000 kWh
(发改能源[2023]1044号).
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.instruments import (
    ConsumptionBucket,
    Instrument,
    gec_batch,
    instrument_problems,
    match,
    month_index,
    year_month,
)

JAN_2025 = month_index(2025, 1)
MAR_2025 = month_index(2025, 3)
YEAR_2025 = (JAN_2025, JAN_2025 + 12)


def park_months(kwh: float, tenants: dict[str, float] | None = None) -> list[ConsumptionBucket]:
    buckets = [ConsumptionBucket(m, kwh) for m in range(*YEAR_2025)]
    for tenant, t_kwh in (tenants or {}).items():
        buckets += [ConsumptionBucket(m, t_kwh, tenant) for m in range(*YEAR_2025)]
    return buckets


def test_month_index():
    # 2025 × 12 + 3 − 1 = 24,302.
    assert month_index(2025, 3) == 24302
    assert year_month(24302) == (2025, 3)
    with pytest.raises(ValueError, match="month must be 1-12"):
        month_index(2025, 13)


def test_annual_gec_batch_retired_against_one_month_reduces_only_that_month():
    # 500 GEC × 1,000 kWh = 500,000 kWh generated in 2025, retired against March 2025 only.
    # March consumed 300,000 kWh: 300,000 covered, 200,000 unused; no other month gets any.
    batch = gec_batch(
        "gec-2025-a",
        500,
        generation_start=JAN_2025,
        generation_end=JAN_2025 + 12,
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
    )
    result = match([batch], park_months(300_000.0))
    assert result.green_kwh(MAR_2025) == 300_000.0
    assert [result.park_green_kwh(m) for m in range(*YEAR_2025) if m != MAR_2025] == [0.0] * 11
    assert result.unused_kwh == {"gec-2025-a": 200_000.0}


def test_annual_batch_retired_against_the_year_is_spent_once_not_every_month():
    # The same 500,000 kWh against all of 2025: January takes 300,000, February the other
    # 200,000, March–December nothing (a count reused monthly would have covered 12 × 300,000).
    batch = gec_batch(
        "gec-2025-a",
        500,
        generation_start=JAN_2025,
        generation_end=JAN_2025 + 12,
        retired_start=YEAR_2025[0],
        retired_end=YEAR_2025[1],
    )
    result = match([batch], park_months(300_000.0))
    assert [result.park_green_kwh(m) for m in range(JAN_2025, JAN_2025 + 3)] == [
        300_000.0,
        200_000.0,
        0.0,
    ]
    assert result.used_kwh("gec-2025-a") == 500_000.0
    assert result.unused_kwh["gec-2025-a"] == 0.0


def test_tenant_scoped_gec_does_not_reduce_another_tenant():
    # March: park 500,000 kWh, tenant A 80,000, tenant B 120,000. A's 100 GEC = 100,000 kWh
    # cover A's 80,000 (20,000 unused); B stays at 0; the park total is reduced by A's 80,000.
    gec_a = gec_batch(
        "a-1",
        100,
        generation_start=JAN_2025,
        generation_end=MAR_2025 + 1,
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
        tenant="A",
    )
    buckets = park_months(500_000.0, {"A": 80_000.0, "B": 120_000.0})
    result = match([gec_a], buckets)
    assert result.green_kwh(MAR_2025, "A") == 80_000.0
    assert result.green_kwh(MAR_2025, "B") == 0.0
    assert result.park_green_kwh(MAR_2025) == 80_000.0
    assert result.unused_kwh["a-1"] == 20_000.0


def test_park_scoped_instrument_reduces_the_park_total_only():
    # A park contract of 450,000 kWh in March; tenant A already claimed 80,000 of the park's
    # 500,000, so the park-scoped contract covers the remaining 420,000 and no tenant bucket.
    gec_a = gec_batch(
        "a-1",
        80,
        generation_start=MAR_2025,
        generation_end=MAR_2025 + 1,
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
        tenant="A",
    )
    contract = Instrument(
        "contract-03", "contract", 450_000.0, MAR_2025, MAR_2025 + 1, MAR_2025, MAR_2025 + 1
    )
    result = match([contract, gec_a], park_months(500_000.0, {"A": 80_000.0, "B": 120_000.0}))
    assert result.green_kwh(MAR_2025, None) == 420_000.0
    assert result.green_kwh(MAR_2025, "A") == 80_000.0
    assert result.green_kwh(MAR_2025, "B") == 0.0
    assert result.park_green_kwh(MAR_2025) == 500_000.0
    assert result.unused_kwh["contract-03"] == 30_000.0


def test_tenants_never_exceed_the_park_when_their_meters_do():
    # Tenant meters read 300,000 + 300,000 but the park meter 500,000: claims stop at 500,000
    # (tenant A, first by id, 300,000; B the remaining 200,000).
    instruments = [
        gec_batch(
            f"{t}-1",
            300,
            generation_start=MAR_2025,
            generation_end=MAR_2025 + 1,
            retired_start=MAR_2025,
            retired_end=MAR_2025 + 1,
            tenant=t,
        )
        for t in ("A", "B")
    ]
    result = match(instruments, park_months(500_000.0, {"A": 300_000.0, "B": 300_000.0}))
    assert result.green_kwh(MAR_2025, "A") == 300_000.0
    assert result.green_kwh(MAR_2025, "B") == 200_000.0
    assert result.park_green_kwh(MAR_2025) == 500_000.0


def test_vintage_and_unique_claim_problems_are_named():
    old = gec_batch(  # generated January 2023, valid to December 2024: too old for March 2025
        "old",
        1,
        generation_start=month_index(2023, 1),
        generation_end=month_index(2023, 2),
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
    )
    early = gec_batch(  # generated in April, retired against March
        "early",
        1,
        generation_start=MAR_2025 + 1,
        generation_end=MAR_2025 + 2,
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
    )
    late_contract = Instrument(
        "c", "contract", 1.0, MAR_2025, MAR_2025 + 1, MAR_2025 + 1, MAR_2025 + 2
    )
    twice = Instrument("c", "direct", 1.0, MAR_2025, MAR_2025 + 1, MAR_2025, MAR_2025 + 1)
    codes = {
        (p.instrument_id, p.code) for p in instrument_problems([old, early, late_contract, twice])
    }
    assert codes == {
        ("old", "retired_after_validity"),
        ("early", "retired_before_generation"),
        ("c", "retired_outside_generation"),
        ("c", "duplicate_id"),
    }
    with pytest.raises(ValueError, match=r"old\.retired_end: retired_after_validity"):
        match([old], park_months(1.0))


def test_bad_instruments_and_buckets_are_refused():
    with pytest.raises(ValueError, match="retired period must lie in one calendar year"):
        Instrument(
            "x", "gec", 1.0, JAN_2025, JAN_2025 + 1, month_index(2025, 12), month_index(2026, 2)
        )
    with pytest.raises(ValueError, match="kind 'rec'"):
        Instrument("x", "rec", 1.0, JAN_2025, JAN_2025 + 1, JAN_2025, JAN_2025 + 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="energy_kwh must be finite"):
        Instrument("x", "gec", float("nan"), JAN_2025, JAN_2025 + 1, JAN_2025, JAN_2025 + 1)
    with pytest.raises(ValueError, match="certificates must be >= 0"):
        gec_batch(
            "x",
            -1,
            generation_start=JAN_2025,
            generation_end=JAN_2025 + 1,
            retired_start=JAN_2025,
            retired_end=JAN_2025 + 1,
        )
    with pytest.raises(ValueError, match="must be finite"):
        ConsumptionBucket(JAN_2025, float("nan"))
    with pytest.raises(ValueError, match="given twice"):
        match([], [ConsumptionBucket(JAN_2025, 1.0), ConsumptionBucket(JAN_2025, 2.0)])
    with pytest.raises(ValueError, match="no park-level total"):
        match([], [ConsumptionBucket(JAN_2025, 1.0, "A")])


def test_kwh_per_certificate_is_a_parameter():
    batch = gec_batch(
        "x",
        3,
        generation_start=JAN_2025,
        generation_end=JAN_2025 + 1,
        retired_start=JAN_2025,
        retired_end=JAN_2025 + 1,
        kwh_per_certificate=500.0,
    )
    assert batch.energy_kwh == 1500.0
    assert batch.vintage == 2025


# --- properties ------------------------------------------------------------------------------

TENANTS = (None, "A", "B")


@st.composite
def instruments(draw: st.DrawFn) -> list[Instrument]:
    out: list[Instrument] = []
    for n in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(("gec", "contract", "direct")))
        tenant = draw(st.sampled_from(TENANTS))
        energy = draw(st.floats(0, 2e6, allow_nan=False))
        gs = JAN_2025 + draw(st.integers(0, 11))
        ge = draw(st.integers(gs + 1, JAN_2025 + 12))
        if kind == "gec":
            rs = draw(st.integers(gs, JAN_2025 + 11))
            re_ = draw(st.integers(rs + 1, JAN_2025 + 12))
        else:
            rs = draw(st.integers(gs, ge - 1))
            re_ = draw(st.integers(rs + 1, ge))
        out.append(Instrument(f"i{n:02d}", kind, energy, gs, ge, rs, re_, tenant))
    return out


@st.composite
def buckets(draw: st.DrawFn) -> list[ConsumptionBucket]:
    kwh = st.floats(0, 1e6, allow_nan=False)
    out = [ConsumptionBucket(m, draw(kwh)) for m in range(*YEAR_2025)]
    for tenant in ("A", "B"):
        months = draw(st.sets(st.integers(*YEAR_2025).filter(lambda m: m < YEAR_2025[1])))
        out += [ConsumptionBucket(m, draw(kwh), tenant) for m in sorted(months)]
    return out


@settings(max_examples=300, deadline=None)
@given(instruments(), buckets())
def test_matching_never_overclaims(insts: list[Instrument], consumption: list[ConsumptionBucket]):
    result = match(insts, consumption)
    by_id = {i.id: i for i in insts}
    cons = {(b.month, b.tenant): b.consumption_kwh for b in consumption}
    per_inst: dict[str, float] = defaultdict(float)
    per_bucket: dict[tuple[int, str | None], float] = defaultdict(float)
    per_month: dict[int, float] = defaultdict(float)
    for a in result.allocations:
        inst = by_id[a.instrument_id]
        assert a.energy_kwh > 0
        # within the instrument's retirement period, scope and vintage
        assert inst.retired_start <= a.month < inst.retired_end
        assert a.tenant == inst.tenant
        assert a.month >= inst.generation_start
        if inst.kind != "gec":
            assert a.month < inst.generation_end
        per_inst[a.instrument_id] += a.energy_kwh
        per_bucket[(a.month, a.tenant)] += a.energy_kwh
        per_month[a.month] += a.energy_kwh
    for inst in insts:  # never more than it has; used + unused = what it has
        assert per_inst[inst.id] <= inst.energy_kwh * (1 + 1e-12)
        assert per_inst[inst.id] + result.unused_kwh[inst.id] == pytest.approx(inst.energy_kwh)
    for key, kwh in per_bucket.items():  # never more than the bucket's consumption
        assert kwh <= cons[key] * (1 + 1e-12) + 1e-9
    for month, kwh in per_month.items():  # tenants and park together never exceed the park
        assert kwh <= cons[(month, None)] * (1 + 1e-12) + 1e-9


@settings(max_examples=100, deadline=None)
@given(instruments(), buckets(), st.randoms(use_true_random=False))
def test_matching_is_deterministic(
    insts: list[Instrument], consumption: list[ConsumptionBucket], rnd: random.Random
):
    shuffled_i, shuffled_b = insts[:], consumption[:]
    rnd.shuffle(shuffled_i)
    rnd.shuffle(shuffled_b)
    assert match(shuffled_i, shuffled_b) == match(insts, consumption)
