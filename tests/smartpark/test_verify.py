"""`smartpark verify` end to end on the embedded store: a simulated backfill with its truth
passes; the same run with one meter's readings of a day deleted fails, naming that meter and day."""

from __future__ import annotations

from datetime import datetime

import pytest

from config.registry import load_registry
from config.settings import Settings, get_settings
from services.ledger import rebuild_ledger
from simulators.park import ParkModel
from simulators.truth import TruthWriter
from smartpark.cli import main
from smartpark.demo import History, simulate_history, store_history
from store import EmbeddedStore

PARK = load_registry().parks["wuhan-demo"]
START = "2026-03-01T00:00:00+08:00"
END = "2026-03-03T00:00:00+08:00"
DROPPED = "tower-a-f01"


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 10**9


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two days of 15-minute readings of the demo park (a tick on each end) and their truth."""
    folder = tmp_path_factory.mktemp("verify")
    truth = folder / "truth.csv"
    model = ParkModel(PARK, seed=11)
    with TruthWriter(truth, model) as writer:
        history = simulate_history(PARK, model, start_ns=_ns(START), end_ns=_ns(END), truth=writer)
    return truth, history


def _deploy(folder, history: History) -> None:
    """What a deployment that collected ``history`` holds: readings and the stored ledger."""
    store = EmbeddedStore(folder / "store.sqlite3")
    try:
        settings = Settings(data_dir=folder, metrics_port=0)
        store_history(store, load_registry(), PARK, history, settings=settings, newest_first=False)
        rebuild_ledger(store, PARK, start_ns=_ns(START) - 86_400 * 10**9, end_ns=_ns(END))
    finally:
        store.close()


def _verify(monkeypatch, folder, truth, *extra: str) -> int:
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(folder))
    monkeypatch.delenv("SMARTPARK_STORE_URL", raising=False)
    monkeypatch.delenv("SMARTPARK_REGISTRY", raising=False)
    get_settings.cache_clear()
    try:
        return main(
            ["verify", "--truth", str(truth), "--park", PARK.id, "--start", START, "--end", END,
             *extra]
        )  # fmt: skip
    finally:
        get_settings.cache_clear()


def test_a_clean_run_passes(run, tmp_path, monkeypatch, capsys):
    truth, history = run
    _deploy(tmp_path, history)
    assert _verify(monkeypatch, tmp_path, truth) == 0
    out = capsys.readouterr().out.splitlines()
    print("\n".join(out[:6] + out[-3:]))
    registers = sum(spec.cumulative for d in PARK.devices for spec in d.fields.values())
    # every register of every device, on both local days
    assert out[-1].startswith(f"verify: PASS — {2 * registers} device-days of ")
    rows = [line for line in out if line.startswith("2026-03-0")]
    assert len(rows) == 2 * registers
    assert {r.split()[1] for r in rows} == {
        d.id for d in PARK.devices if any(s.cumulative for s in d.fields.values())
    }
    grid = next(r for r in rows if r.startswith("2026-03-02  grid-main ") and " energy_kwh " in r)
    truth_kwh, ledger_kwh, stored_kwh = (float(v.replace(",", "")) for v in grid.split()[4:7])
    assert truth_kwh > 1000  # a day of a park's import, not a rounding residue
    assert ledger_kwh == pytest.approx(truth_kwh, rel=1e-6)
    assert stored_kwh == pytest.approx(truth_kwh, rel=1e-6)


def test_a_meter_with_a_day_of_readings_deleted_fails_naming_it_and_the_day(
    run, tmp_path, monkeypatch, capsys
):
    truth, history = run
    cut_ms = _ns("2026-03-02T00:00:00+08:00") // 10**6
    uploads = [
        {
            device: [r for r in readings if device != DROPPED or int(r["ts"]) <= cut_ms]
            for device, readings in upload.items()
        }
        for upload in history.uploads
    ]
    _deploy(tmp_path, History(uploads, history.first_ns, history.last_ns))
    assert _verify(monkeypatch, tmp_path, truth, "--failures") == 1
    out = capsys.readouterr().out.splitlines()
    print("\n".join(out))
    failed = out[out.index(next(line for line in out if line.startswith("verify: FAIL"))) + 1 :]
    assert failed, out
    assert {line.split()[0] for line in failed} == {DROPPED}
    assert {line.split()[3] for line in failed} == {"2026-03-02"}
    assert "energy_kwh" in {line.split()[2] for line in failed}
    # day one of the same meter still matches: its readings up to midnight are all there
    assert not any(line.startswith(f"2026-03-01  {DROPPED} ") for line in out)


def test_chinese_output_and_bad_truth_file(run, tmp_path, monkeypatch, capsys):
    truth, history = run
    _deploy(tmp_path, history)
    assert _verify(monkeypatch, tmp_path, truth, "--lang", "zh") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("核验：通过")  # noqa: RUF001
    bad = tmp_path / "not-truth.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert _verify(monkeypatch, tmp_path, bad) == 2
    assert "not a simulator truth file" in capsys.readouterr().err
