"""The command line: exit codes, clear errors, log formats."""

from __future__ import annotations

import logging

import orjson

from smartpark.cli import main


def test_json_log_format_writes_one_object_per_line(capsys):
    assert main(["--log-format", "json", "check-config"]) == 0
    logging.getLogger("smartpark.test").warning("spool full")
    entry = orjson.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["level"] == "warning"
    assert entry["logger"] == "smartpark.test"
    assert entry["message"] == "spool full"
    assert entry["time"][:2] == "20"


def test_bad_store_url_is_a_clear_configuration_error(monkeypatch, capsys, tmp_path):
    from config.settings import get_settings

    monkeypatch.setenv("SMARTPARK_STORE_URL", "postgres://localhost/x")
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["collect"]) == 2
    finally:
        get_settings.cache_clear()
    assert "store URL must start with influxdb://" in capsys.readouterr().err


def test_ledger_rebuild_command_writes_the_ledger(monkeypatch, capsys, tmp_path):
    from config.settings import get_settings
    from store import TELEMETRY, EmbeddedStore, Point, SeriesQuery

    t0 = 1_767_196_800 * 10**9  # 2026-01-01T00:00+08:00
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    store.write(
        [
            Point(
                TELEMETRY,
                {"park": "wuhan-demo", "device": "tower-a-f05"},
                {"energy_kwh": 50.0 + 0.5 * i},
                t0 + i * 60 * 10**9,
            )
            for i in range(61)
        ]
    )
    store.close()
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SMARTPARK_STORE_URL", raising=False)
    get_settings.cache_clear()
    try:
        code = main(
            [
                "ledger",
                "rebuild",
                "--park",
                "wuhan-demo",
                "--start",
                "2026-01-01T00:00:00+08:00",
                "--end",
                "2026-01-01T01:00:00+08:00",
            ]
        )
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "ledger rebuild:" in captured.err  # progress lines (not a terminal here)
    assert "1 registers, 4 intervals written (0 missing)" in captured.out
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    rows = store.series(
        SeriesQuery(
            "wuhan-demo", "tower-a-f05", "energy_kwh", t0, t0 + 3600 * 10**9, measurement="ledger"
        )
    )
    store.close()
    assert [r.value for r in rows] == [7.5, 7.5, 7.5, 7.5]  # 0.5 kWh/min x 15 min


def test_ledger_rebuild_refuses_an_unknown_park(capsys):
    code = main(
        [
            "ledger",
            "rebuild",
            "--park",
            "atlantis",
            "--start",
            "2026-01-01T00:00:00+08:00",
            "--end",
            "2026-01-02T00:00:00+08:00",
        ]
    )
    assert code == 2
    assert "no park 'atlantis'" in capsys.readouterr().err


def test_report_command_writes_the_document(january_data_dir, tmp_path, monkeypatch, capsys):
    import json

    from config.settings import get_settings

    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(january_data_dir))
    monkeypatch.delenv("SMARTPARK_STORE_URL", raising=False)
    declared = tmp_path / "declared.yaml"
    declared.write_text("water_reuse: 0.85\nwaste_heat_use: 0.4\n", encoding="utf-8")
    out = tmp_path / "park.json"
    get_settings.cache_clear()
    try:
        code = main(
            [
                *("report", "--park", "wuhan-demo", "--year", "2025", "--format", "json"),
                *("--out", str(out), "--declared", str(declared)),
            ]
        )
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()

    assert code == 0, captured.err
    assert "report:" in captured.err  # the progress lines
    assert f"wrote {out}" in captured.out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["kind"] == "park_evaluation"
    rows = {r["key"]: r for b in doc["targets"] for r in b["rows"]}
    assert (rows["water_reuse"]["value"], rows["water_reuse"]["status"]) == (0.85, "met")
    assert (rows["waste_heat_use"]["basis"], rows["waste_heat_use"]["status"]) == (
        "declared",
        "not_met",
    )


def test_report_command_refuses_an_unknown_tenant_and_bad_declared_values(tmp_path, capsys):
    bad = tmp_path / "declared.yaml"
    bad.write_text("- not a mapping\n", encoding="utf-8")

    unknown = main(["report", "--park", "wuhan-demo", "--tenant", "t99", "--year", "2025"])
    err = capsys.readouterr().err
    malformed = main(["report", "--park", "wuhan-demo", "--year", "2025", "--declared", str(bad)])

    assert unknown == 2
    assert "has no tenant 't99'" in err
    assert malformed == 2
    assert "declared values must be a YAML mapping" in capsys.readouterr().err
