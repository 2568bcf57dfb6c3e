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
