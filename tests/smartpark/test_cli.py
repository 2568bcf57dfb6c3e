"""The command line: exit codes, clear errors, log formats."""

from __future__ import annotations

import io
import logging
import sys

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
    from store import LEDGER_DAY, TELEMETRY, EmbeddedStore, Point, SeriesQuery

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
    assert "1 register, 4 intervals written (0 missing)" in captured.out
    assert "day roll-up (ledger_day): " in captured.out
    assert "local days 2026-01-01 to 2026-01-01 (Asia/Shanghai)" in captured.out
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    rows = store.series(
        SeriesQuery(
            "wuhan-demo", "tower-a-f05", "energy_kwh", t0, t0 + 3600 * 10**9, measurement="ledger"
        )
    )
    # the roll-up of the local day the window lies in: the hour rebuilt, the rest not known
    day = store.scan("wuhan-demo", measurement=LEDGER_DAY, start_ns=t0, end_ns=t0 + 86_400 * 10**9)
    store.close()
    assert [r.value for r in rows] == [7.5, 7.5, 7.5, 7.5]  # 0.5 kWh/min x 15 min
    (rollup,) = [p for p in day if p.device == "tower-a-f05"]
    assert rollup.time_ns == t0
    assert rollup.fields["energy_kwh"] == 30.0
    assert rollup.fields["energy_kwh_known"] == 4.0
    assert rollup.fields["energy_kwh_intervals"] == 96.0


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


# -- API keys and `serve` ---------------------------------------------------------------------


def _fresh_settings(monkeypatch, **env):
    from config.settings import get_settings

    for name in ("SMARTPARK_API_KEYS", "SMARTPARK_AUTH", "SMARTPARK_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings


def test_keys_add_prints_the_token_once_and_stores_only_its_hash(monkeypatch, capsys, tmp_path):
    from config.auth import hash_token, load_api_keys
    from config.registry import load_registry

    get_settings = _fresh_settings(monkeypatch)
    keys = tmp_path / "keys.yaml"
    try:
        code = main(
            [
                "keys",
                "add",
                "--role",
                "tenant",
                "--park",
                "wuhan-demo",
                "--tenant",
                "chipcore",
                "--name",
                "chipcore-energy",
                "--file",
                str(keys),
            ]
        )
        captured = capsys.readouterr()
        token = captured.out.strip()
        # from SMARTPARK_API_KEYS when --file is not given
        monkeypatch.setenv("SMARTPARK_API_KEYS", str(keys))
        get_settings.cache_clear()
        assert (
            main(["keys", "add", "--role", "operator", "--park", "wuhan-demo", "--name", "ops"])
            == 0
        )
        second = capsys.readouterr().out.strip()
    finally:
        get_settings.cache_clear()
    assert code == 0, captured.err
    assert len(token) >= 43
    assert "\n" not in token
    assert "chipcore-energy" in captured.err
    text = keys.read_text()
    assert token not in text
    assert second not in text
    assert hash_token(token) in text
    registry = load_registry()
    principal = load_api_keys(keys, registry).authenticate(token)
    assert principal is not None
    assert (principal.role, principal.park, principal.tenant) == (
        "tenant",
        "wuhan-demo",
        "chipcore",
    )
    assert load_api_keys(keys, registry).authenticate(second) is not None


def test_keys_add_refuses_unknown_parks_and_tenants_clearly(monkeypatch, capsys, tmp_path):
    get_settings = _fresh_settings(monkeypatch)
    keys = tmp_path / "keys.yaml"
    try:
        unknown_park = main(
            [
                "keys",
                "add",
                "--role",
                "operator",
                "--park",
                "atlantis",
                "--name",
                "a",
                "--file",
                str(keys),
            ]
        )
        park_err = capsys.readouterr().err
        unknown_tenant = main(
            [
                "keys",
                "add",
                "--role",
                "tenant",
                "--park",
                "wuhan-demo",
                "--tenant",
                "t99",
                "--name",
                "b",
                "--file",
                str(keys),
            ]
        )
        tenant_err = capsys.readouterr().err
        no_park = main(["keys", "add", "--role", "operator", "--name", "c", "--file", str(keys)])
        no_park_err = capsys.readouterr().err
        no_file = main(["keys", "add", "--role", "city", "--name", "d"])
        no_file_err = capsys.readouterr().err
    finally:
        get_settings.cache_clear()
    assert (unknown_park, unknown_tenant, no_park, no_file) == (2, 2, 2, 2)
    assert "unknown park 'atlantis'" in park_err
    assert "wuhan-demo" in park_err  # the known parks
    assert "park 'wuhan-demo' has no tenant 't99'" in tenant_err
    assert "an operator key needs a park" in no_park_err
    assert "give --file or set SMARTPARK_API_KEYS" in no_file_err
    assert not keys.exists()


def test_serve_refuses_to_start_without_keys_unless_auth_is_off(
    monkeypatch, capsys, caplog, tmp_path
):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(app))
    get_settings = _fresh_settings(monkeypatch, SMARTPARK_DATA_DIR=str(tmp_path))
    try:
        refused = main(["serve"])
        err = capsys.readouterr().err
        monkeypatch.setenv("SMARTPARK_AUTH", "off")
        get_settings.cache_clear()
        off = main(["serve"])
        keys = tmp_path / "keys.yaml"
        keys.write_text("- {name: x, role: operator, park: nowhere, sha256: " + "a" * 64 + "}\n")
        monkeypatch.setenv("SMARTPARK_AUTH", "on")
        monkeypatch.setenv("SMARTPARK_API_KEYS", str(keys))
        get_settings.cache_clear()
        bad_keys = main(["serve"])
        bad_err = capsys.readouterr().err
    finally:
        get_settings.cache_clear()
    assert refused == 2
    assert "SMARTPARK_API_KEYS" in err
    assert "SMARTPARK_AUTH=off" in err
    assert off == 0
    assert len(started) == 1
    assert started[0].state.auth is None
    assert "SMARTPARK_AUTH=off" in err + capsys.readouterr().err
    assert bad_keys == 2
    assert f"{keys}:1: unknown park 'nowhere'" in bad_err


# -- errors: one line, a hint, no traceback ----------------------------------------------------


def test_a_missing_cjk_font_is_one_line_and_a_hint_not_a_traceback(
    january_data_dir, tmp_path, monkeypatch, capsys
):
    import reports.render
    from config.settings import get_settings

    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(january_data_dir))
    monkeypatch.delenv("SMARTPARK_STORE_URL", raising=False)
    monkeypatch.setattr(reports.render, "cjk_fonts", list)  # as on a machine without one
    out = tmp_path / "park.pdf"
    get_settings.cache_clear()
    try:
        code = main(
            [
                *("report", "--park", "wuhan-demo", "--year", "2025", "--format", "pdf"),
                *("--out", str(out)),
            ]
        )
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith(("error:", "hint:"))]

    assert code == 1
    assert not out.exists()
    assert "Traceback" not in err
    assert len(ours) == 2, err
    assert ours[0].startswith("error: no font with Chinese glyphs is installed")
    assert ours[1].startswith("hint: install a font with Chinese glyphs")
    assert "apt-get install fonts-noto-cjk" in ours[1]


def test_registry_problems_are_listed_with_file_and_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "park.yaml"
    bad.write_text("park:\n  id: x\n  timezone: Mars/Olympus\n", encoding="utf-8")

    code = main(["check-config", str(bad)])
    err = capsys.readouterr().err.splitlines()

    assert code == 2
    assert err[0].startswith("error: the registry has ")
    assert any(line.strip().startswith(f"{bad}:") for line in err[1:-1]), err
    assert err[-1].startswith("hint: fix each line above")


def test_domain_errors_inside_a_task_group_are_reported_each_on_its_line(monkeypatch, capsys):
    import smartpark.cli
    from config.errors import BrokerError, StoreUnavailableError

    def both(_):
        raise ExceptionGroup(
            "tasks",
            [StoreUnavailableError("connection refused"), BrokerError("mqtt: not authorised")],
        )

    monkeypatch.setitem(smartpark.cli._COMMANDS, "check-config", both)
    code = main(["check-config"])
    err = capsys.readouterr().err.splitlines()

    assert code == 1
    assert err == [
        "error: connection refused",
        "hint: is the store running? SMARTPARK_STORE_URL names it (empty: the embedded store)",
        "error: mqtt: not authorised",
        "hint: is the MQTT broker running? SMARTPARK_MQTT_URL names it",
    ]


def test_an_error_that_is_not_ours_still_raises(monkeypatch):
    import pytest

    import smartpark.cli

    def bug(_):
        raise KeyError("a bug, which deserves its traceback")

    monkeypatch.setitem(smartpark.cli._COMMANDS, "check-config", bug)
    with pytest.raises(KeyError):
        main(["check-config"])


def test_report_method_takes_the_new_names_and_refuses_the_old_ones_with_the_new(
    monkeypatch, capsys, tmp_path, request
):
    import types

    import pytest

    import reports.build
    import reports.render
    from config.accounting import AccountingProfile
    from config.registry import load_registry
    from services.accounting import put_profile
    from store.embedded import EmbeddedStore

    monkeypatch.delenv("SMARTPARK_STORE_URL", raising=False)
    settings = _fresh_settings(monkeypatch, SMARTPARK_DATA_DIR=str(tmp_path))
    request.addfinalizer(settings.cache_clear)
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    put_profile(store, load_registry().parks["wuhan-demo"], 2025, AccountingProfile(name="ev"))
    store.close()
    doc = types.SimpleNamespace(tenant_id=None, park_id="wuhan-demo", kind="park", year=2025)
    monkeypatch.setattr(reports.build, "build_report", lambda *a, **k: doc)
    monkeypatch.setattr(reports.render, "render", lambda *a: b"{}")
    base = ["report", "--park", "wuhan-demo", "--format", "json"]

    def run(*args: str) -> str:
        code = main([*base, "--out", str(tmp_path / "r.json"), *args])
        err = capsys.readouterr().err
        assert code == 0, err
        return err

    # the year's stored profile, overridden for one report by --method
    assert "accounting profile: ev (calorific_value)" in run("--year", "2025")
    over = run("--year", "2025", "--method", "coal_equivalent")
    assert "accounting profile: ev (method overridden: coal_equivalent) (coal_equivalent)" in over
    # another year: the park's registry default
    assert "accounting profile: wuhan-demo/default (calorific_value)" in run("--year", "2024")
    for old, new in (
        ("equivalent_value", "calorific_value"),
        ("coal_consumption", "coal_equivalent"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main([*base, "--year", "2025", "--method", old])
        assert exit_.value.code == 2
        assert f"use --method {new}" in capsys.readouterr().err


def test_check_config_checks_the_mappings_and_alarm_rules_too(tmp_path, capsys, monkeypatch):
    from ingest.mapping import shipped_mappings_path

    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path / "data"))
    shipped = shipped_mappings_path()
    assert main(["check-config", "--mappings", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert f"{shipped}: payload mappings OK — " in out
    assert "shipped alarm rules: alarm rules OK — " in out

    bad = tmp_path / "bad-mapping.yaml"
    bad.write_text("mappings:\n  - id: x\n    topic: a/+/b\n    park: nowhere\n", encoding="utf-8")
    assert main(["check-config", "--mappings", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: the configuration has 3 problems:"
    assert err[1] == f"  {bad}:2: mappings.0.device: Field required"

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: r\n    kind: threshold\n", encoding="utf-8")
    assert main(["check-config", "--alarm-rules", str(rules)]) == 2
    assert "above" in capsys.readouterr().err


def test_logging_follows_stderr_after_a_command_ran_in_process(monkeypatch, capsys):
    # a command run inside another program (here: a test) must not leave a handler on the
    # stream it started with: a thread logging after that stream closed would print a
    # "ValueError: I/O operation on closed file" traceback instead of its line
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    assert main(["check-config"]) == 0
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("smartpark.test").warning("after the first stream closed")
    lines = second.getvalue().splitlines()
    assert lines[-1].endswith("WARNING smartpark.test: after the first stream closed"), lines
    assert "closed file" not in second.getvalue()
