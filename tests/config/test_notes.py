"""Every note the services write — how an indicator (``services/indicators``) or a balance
figure (``services/energy.py``) was made, in English, parts joined by ``"; "`` — is worded by the
``note.*`` entries of ``config/messages/notes.yaml``: each part found again from its English by
``config.messages.note_key`` (placeholders holding what their names say), so ``note_zh`` reads
Chinese. The notes are collected from the indicators of the roll-up test park (every scope kind,
a month and a day) under the accounting profiles and registry variants that change the wording;
the few variants that data cannot reach are written the way the code writes them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import get_args

from config.accounting import AccountingProfile, Boundary, GasSupply
from config.messages import catalogue, note_key, note_parts, note_text
from config.registry import ParkRegistry, load_registry
from reports.model import Note
from services.energy import Scope, energy_balance
from services.indicators import scope_indicators
from services.ledger import device_ledger
from store.embedded import EmbeddedStore
from tests.rollup.test_rollup_path import REGISTRY, at, load

HAN = re.compile(r"[\u4e00-\u9fff]")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
NESTED = ("elec", "pv", "p0", "demand")  # placeholders holding another note.* text

PARK, B1, A, B = Scope("park"), Scope("building", "b1"), Scope("tenant", "a"), Scope("tenant", "b")
MONTH, DAY = "2025-03", "2025-03-05"

# registry variants of the test park: (old, new) replacements of its YAML
EV = "  - {id: ev, kind: ev_charger, role: ev_charging, parent: main, building: b1, tenant: a}\n"
PYRANOMETER = "  - {id: pyr, kind: pyranometer, role: environment}\n"
VARIANTS = {
    "ev": [("devices:\n", "devices:\n" + EV)],
    "capacity": [("contracted_kw: 500,", "demand_basis: capacity, contracted_kw: 500,")],
    "no_contracted": [(" contracted_kw: 500,", "")],
    "pv_ac": [(", dc_kwp: 110", ""), ("devices:\n", "devices:\n" + PYRANOMETER)],
    "unmetered": [("devices:\n", "  - {id: b2, name: B2, floors: [{number: 1}]}\ndevices:\n")],
}


def _park(tmp_path: Path, name: str, changes: Iterable[tuple[str, str]]) -> ParkRegistry:
    text = REGISTRY
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_registry(path).parks["p"]


def _profiles(park: str) -> dict[str, AccountingProfile]:
    """The profile variants that change a note's wording."""
    return {
        "coal": AccountingProfile(name=f"{park}/coal", electricity_method="coal_equivalent"),
        "net": AccountingProfile(
            name=f"{park}/net",
            scope2_basis="net",
            grid_factor="region",
            purchased_heat=True,
            gas_is_clean=True,
            pv_certificates="sold",
            gas=GasSupply(reference="0C"),
        ),
        "national": AccountingProfile(name=f"{park}/national", grid_factor="national"),
        "fixed": AccountingProfile(
            name=f"{park}/fixed", grid_factor="fixed", fixed_grid_factor_key="grid_average"
        ),
        "ev": AccountingProfile(name=f"{park}/ev", boundary=Boundary(ev_charging=False)),
        "ev_net": AccountingProfile(
            name=f"{park}/ev-net", boundary=Boundary(ev_charging=False), scope2_basis="net"
        ),
    }


def _indicator_notes(
    store: EmbeddedStore,
    park: ParkRegistry,
    runs: Iterable[tuple[Scope, str]],
    *,
    profile: AccountingProfile | None = None,
    full: bool = False,
) -> set[str]:
    """The notes of the indicators of each (scope, period) of ``runs``; ``full``: every meter
    read through its raw registers (a registry variant's extra devices have no roll-up)."""
    found: set[str] = set()
    ledger = device_ledger if full else None
    for scope, period in runs:
        report = scope_indicators(store, park, period, scope=scope, profile=profile, ledger=ledger)
        found |= {i.note for i in report.indicators if i.note is not None}
    return found


def produced_notes(store: EmbeddedStore, tmp_path: Path) -> set[str]:
    """The notes the services write on the test park, its variants and profiles."""
    park = _park(tmp_path, "p", [])
    load(store, park)
    notes = _indicator_notes(store, park, [(s, p) for s in (PARK, B1, A, B) for p in (MONTH, DAY)])
    profiles = _profiles(park.id)
    for name in ("coal", "net"):
        notes |= _indicator_notes(store, park, [(PARK, MONTH), (A, MONTH)], profile=profiles[name])
    for name in ("national", "fixed"):
        notes |= _indicator_notes(store, park, [(PARK, MONTH)], profile=profiles[name])
    ev = _park(tmp_path, "ev", VARIANTS["ev"])
    notes |= _indicator_notes(
        store, ev, [(PARK, MONTH), (A, MONTH)], profile=profiles["ev"], full=True
    )
    notes |= _indicator_notes(store, ev, [(PARK, MONTH)], profile=profiles["ev_net"], full=True)
    capacity = _park(tmp_path, "capacity", VARIANTS["capacity"])
    notes |= _indicator_notes(store, capacity, [(PARK, MONTH), (PARK, DAY), (A, MONTH)], full=True)
    for name in ("no_contracted", "pv_ac"):
        variant = _park(tmp_path, name, VARIANTS[name])
        notes |= _indicator_notes(store, variant, [(PARK, MONTH)], full=True)
    unmetered = _park(tmp_path, "unmetered", VARIANTS["unmetered"])  # a building without meters
    notes |= _indicator_notes(store, unmetered, [(Scope("building", "b2"), MONTH)], full=True)
    for scope in (PARK, B1, A):  # the balance figures' notes (/energy)
        bal = energy_balance(store, ev, scope, start_ns=at(1), end_ns=at(8))
        notes |= {f.note for f in bal.figures if f.note is not None}
    return notes


def constructed_notes() -> set[str]:
    """The notes the test data cannot reach, written the way the services write them: the
    park's peak and demand charge from a 15-minute window sliding over grid meters that report
    more often than every 15 minutes (services.indicators.microgrid: peak_note, its steps
    _STEPS_S; services.indicators.cost._demand), and an optional register no meter reports
    (services.energy._sum_figure)."""
    what = "grid import"
    floor = ", not below 40 % of the contracted capacity (发改办价格[2016]1583号)"
    lower = " (a lower bound: some intervals are missing)"
    sliding = f"highest 15-minute window sliding over the {what} of each local month × price"
    notes = {sliding, sliding + lower, sliding + floor, sliding + floor + lower}
    notes |= {
        f"highest 15-minute average {what}, the window sliding in {step} s steps over the grid "
        "meters' register (as utilities bill it)"
        for step in (60, 180, 300, 450)
    }
    notes.add("no meter reports this register; taken as 0 in derived figures")
    return notes


def _keys(text: str) -> set[str]:
    """The note.* keys wording ``text`` (one part), nested ones included."""
    found = note_key(text)
    assert found is not None, text
    key, values = found
    keys = {key}
    for name in NESTED:
        if name in values:
            keys |= _keys(values[name])
    return keys


def test_every_note_the_services_write_is_worded_by_the_catalogue(
    embedded_store: EmbeddedStore, tmp_path: Path
) -> None:
    produced = produced_notes(embedded_store, tmp_path)
    assert len(produced) > 40  # every indicator's, under the variants
    notes = produced | constructed_notes()
    unworded = sorted(
        f"{part!r} of {note!r}" for note in notes for part, found in note_parts(note) if not found
    )
    assert unworded == []
    used = {k for note in notes for part, _ in note_parts(note) for k in _keys(part)}
    # every entry words a note the services write: none is left over from an old wording (the
    # report notes' kinds, note.<kind> of reports.yaml, share the prefix)
    used |= {f"note.{kind}" for kind in get_args(Note.model_fields["kind"].annotation)}
    assert sorted(k for k in catalogue() if k.startswith("note.") and k not in used) == []
    for note in notes:
        zh = note_text(note, "zh")
        assert zh is not None
        assert HAN.search(zh), (note, zh)
        # dc_kwp, area_m2 … in words; the fixed factor's key is the profile's data
        assert not SNAKE.search(zh.replace("grid_average", "")), (note, zh)
        assert "calorific value" not in zh, zh
        assert "equivalent value" not in zh, zh
        assert zh != note


def test_notes_read_in_chinese() -> None:
    assert note_text("(PV − export) / PV", "zh") == "（光伏发电量 − 上网电量）/ 光伏发电量"  # noqa: RUF001
    assert note_text("(PV − export) / PV", "en") == "(PV − export) / PV"
    assert note_text(
        "max(the month's maximum demand, 40 % × contracted capacity); the period's highest month",
        "zh",
    ) == ("max(当月最大需量, 40 % × 合同容量)；本期取最高月份")  # noqa: RUF001
    tce = (
        "electricity = import − export + PV at the calorific value (GB/T 2589-2020) (当量值 "
        "(GB/T 2589-2020)); natural gas from one heating value (35.544 MJ/m3 at 20 °C, meters at "
        "20 °C); heat meters not counted (internal); profile p/default"
    )
    assert note_text(tce, "zh") == (
        "用电量 = 电网购入 − 上网 + 光伏发电，按当量值 (GB/T 2589-2020) 折标准煤；"  # noqa: RUF001
        "天然气按单一低位发热量折标（35.544 MJ/m3，20 °C 状态，燃气表按 20 °C 计量）；"  # noqa: RUF001
        "热量表不计入（园区内部热力）；核算口径 p/default"  # noqa: RUF001
    )
    assert note_text(tce, "en") == tce
    scope2 = (
        "purchased electricity = grid import × the grid factor of the profile's rule (province → "
        "grid region → national); Scope 2 on the gross basis"
    )
    assert note_text(scope2, "zh") == (
        "购入电力 = 电网购入电量 × 按核算口径规则选取的电网排放因子（省 → 区域电网 → 全国）；"  # noqa: RUF001
        "范围二按总购入电量口径（不扣除上网电量）"  # noqa: RUF001
    )
    demand = (
        "highest 15-minute average grid import of each local month × price, not below 40 % of "
        "the contracted capacity (发改办价格[2016]1583号) (a lower bound: some intervals are "
        "missing)"
    )
    assert note_text(demand, "zh") == (
        "每个自然月电网购入电量的最大 15 分钟平均功率 × 需量电价，不低于合同容量的 40 %"  # noqa: RUF001
        "（发改办价格[2016]1583号）（为下限值：部分时段缺失）"  # noqa: RUF001
    )
    cost = (
        "TOU energy cost + demand charge (no demand charge: a demand charge is billed per month: "
        "ask for a month or a year)"
    )
    assert note_text(cost, "zh") == (
        "分时电量电费 + 需量电费（不计需量电费：需量电费按月计收：请查询某月或某年）"  # noqa: RUF001
    )
    assert note_text("no fuel meter in tenant:b: no metered Scope 1", "zh") == (
        "企业「b」无燃料计量表：无计量的范围一排放"  # noqa: RUF001
    )


def test_an_unknown_part_stays_as_written() -> None:
    assert note_text(None, "zh") is None
    assert note_text("something new; (PV − export) / PV", "zh") == (
        "something new；（光伏发电量 − 上网电量）/ 光伏发电量"  # noqa: RUF001
    )
    # a placeholder holds what its name says: no such method, no such flow
    assert note_key("the core indicator at the boiled value (煮)") is None
    assert note_key("mean / peak interval teleporter output") is None
    # a value as written never spans two parts
    assert [found for _, found in note_parts("profile a; b")] == [
        ("note.profile", {"profile": "a"}),
        None,
    ]
