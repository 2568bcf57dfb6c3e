"""``smartpark report --table``: the official tables from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.settings import get_settings
from smartpark.cli import main
from store import EmbeddedStore
from tests.footprint.test_service import DAY, EXTRA
from tests.indicators.toy import registry, spread, write


def test_report_table_writes_a_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry(tmp_path, extra=EXTRA)
    data = tmp_path / "data"
    data.mkdir()
    store = EmbeddedStore(data / "store.sqlite3")
    write(store, "ma", "energy_kwh", {DAY: spread(10_000.0)})
    store.close()
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(data))
    monkeypatch.setenv("SMARTPARK_REGISTRY", str(tmp_path / "toy.yaml"))
    out = tmp_path / "a.xlsx"
    get_settings.cache_clear()
    try:
        args = ["report", "--park", "toy", "--tenant", "a", "--year", "2025", "--table", "205-1"]
        code = main([*args, "--out", str(out)])
        refused = main(["report", "--park", "toy", "--year", "2025", "--table", "green-factory"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 0, err
    ws = load_workbook(io.BytesIO(out.read_bytes())).active
    assert ws is not None
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "电力" in values
    assert 1.0 in values  # 10,000 kWh = 1 万kWh
    assert refused == 1  # a request error, not a configuration one
    assert "ask for a tenant" in err
