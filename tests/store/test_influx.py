"""What only the InfluxDB adapter has: its URL, its credentials, and no secrets in its repr."""

from __future__ import annotations

import time

import pytest

from config.errors import ConfigError, StoreQueryError
from config.settings import get_settings
from smartpark.cli import main
from store import LEDGER_DAY, TELEMETRY, InfluxStore, Point, open_store
from store.influx import LEDGER_MEASUREMENT, LEDGER_RP, LONG_TERM_RP, Retention, _parse_url


@pytest.mark.parametrize(
    ("url", "base", "database"),
    [
        ("influxdb://127.0.0.1:8087/smartpark", "http://127.0.0.1:8087", "smartpark"),
        ("influxdb://influx/smartpark", "http://influx:8086", "smartpark"),
        ("influxdbs://db.example.com/park%20data", "https://db.example.com:8086", "park data"),
        ("influxdb://[::1]:9999/x", "http://[::1]:9999", "x"),
    ],
)
def test_url_gives_base_and_database(url, base, database):
    got_base, got_database, headers, auth = _parse_url(url)
    assert (got_base, got_database, headers, auth) == (base, database, {}, None)


def test_token_becomes_an_authorization_header():
    _, _, headers, auth = _parse_url("influxdb://h:8086/bucket?token=s3cr%2Ft")
    assert headers == {"Authorization": "Token s3cr/t"}
    assert auth is None


def test_user_and_password_become_basic_auth():
    _, _, headers, auth = _parse_url("influxdb://ops:p%40ss%3Aword@h/db")
    assert headers == {}
    assert auth == ("ops", "p@ss:word")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:8086/db", "must start with"),
        ("influxdb://h:8086/", "needs a database"),
        ("influxdb://h:8086", "needs a database"),
        ("influxdb:///db", "needs a host"),
        ("influxdb://h:99999/db", "invalid port"),
        ("influxdb://h/db?tokn=x", "unknown parameter"),
        ("influxdb://u:p@h/db?token=x", "not both"),
    ],
)
def test_bad_urls_are_config_errors(url, message):
    with pytest.raises(ConfigError, match=message):
        InfluxStore(url)


def test_repr_shows_no_secrets():
    for url in ("influxdb://ops:hunter2@h/db", "influxdb://h/db?token=hunter2"):
        store = InfluxStore(url)
        try:
            assert "hunter2" not in repr(store)
            assert "db" in repr(store)
        finally:
            store.close()


def test_open_store_selects_influxdb(tmp_path):
    store = open_store("influxdbs://h:8086/db", data_dir=tmp_path)
    try:
        assert isinstance(store, InfluxStore)
        assert store.database == "db"
    finally:
        store.close()


# --- retention -----------------------------------------------------------------------------------


def _policies(store: InfluxStore) -> dict[str, str]:
    shown = store._select(f'SHOW RETENTION POLICIES ON "{store.database}"')
    return {str(row[0]): str(row[1]) for series in shown for row in series["values"]}


@pytest.mark.influxdb
def test_each_class_of_data_lives_in_its_policy_and_retention_applies_to_each(influx_store):
    now = time.time_ns()
    influx_store.write(
        [
            Point(TELEMETRY, {"park": "p", "device": "m"}, {"kw": 1.0}, now),
            Point(LEDGER_MEASUREMENT, {"park": "p", "device": "m"}, {"e": 2.0}, now),
            Point(LEDGER_DAY, {"park": "p", "device": "m"}, {"e": 3.0}, now),
            Point("alarm", {"park": "p", "device": "hot~m"}, {"state": 0.0}, now),
        ]
    )
    in_ledger = influx_store._select(f'SELECT "e" FROM "{LEDGER_RP}"."{LEDGER_MEASUREMENT}"')
    assert [row[1] for s in in_ledger for row in s["values"]] == [2.0]
    kept = influx_store._select(f'SELECT "state" FROM "{LONG_TERM_RP}"."alarm"')
    assert [row[1] for s in kept for row in s["values"]] == [0.0]
    assert influx_store.retention() == {
        "raw": "autogen: 0s",
        "ledger": f"{LEDGER_RP}: 0s",
        "rollups": f"{LONG_TERM_RP}: 0s",
    }

    applied = influx_store.apply_retention(Retention(400, 2192, 0))

    db = f'"{influx_store.database}"'
    assert applied == [
        f'ALTER RETENTION POLICY "autogen" ON {db} DURATION 400d SHARD DURATION 7d',
        f'ALTER RETENTION POLICY "{LEDGER_RP}" ON {db} DURATION 2192d',
        f'ALTER RETENTION POLICY "{LONG_TERM_RP}" ON {db} DURATION INF',
    ]
    assert _policies(influx_store) == {
        "autogen": "9600h0m0s",  # 400 d
        LEDGER_RP: "52608h0m0s",  # 2,192 d
        LONG_TERM_RP: "0s",  # forever
    }
    # everything still reads back where it lives
    assert influx_store.count("p") == 1
    assert influx_store.count("p", measurement=LEDGER_MEASUREMENT) == 1
    assert influx_store.count("p", measurement=LEDGER_DAY) == 1
    # a reading older than the raw policy is refused by the server, with its reason
    old = now - 401 * 86_400 * 10**9
    with pytest.raises(StoreQueryError, match="beyond retention policy"):
        influx_store.write([Point(TELEMETRY, {"park": "p", "device": "m"}, {"kw": 1.0}, old)])


def test_retention_refuses_negative_days_and_a_raw_policy_shorter_than_two_days():
    with pytest.raises(ValueError, match="0 \\(forever\\) or more days"):
        Retention(400, -1, 0)
    with pytest.raises(ValueError, match="at least 2 days"):
        Retention(1, 0, 0)


@pytest.mark.influxdb
def test_store_retention_command_shows_then_applies_the_settings(
    influxd, monkeypatch, capsys, tmp_path
):
    database = "test_retention_cli"
    monkeypatch.setenv("SMARTPARK_STORE_URL", influxd.store_url(database))
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMARTPARK_RETENTION_RAW_DAYS", "30")
    get_settings.cache_clear()
    try:
        assert main(["store", "retention"]) == 0
        shown = capsys.readouterr().out
        assert "raw      autogen: 0s" in shown
        assert "settings: raw 30 d, ledger 2192 d, roll-ups 0 d (0: forever)" in shown
        assert main(["store", "retention", "--apply"]) == 0
        assert "DURATION 30d SHARD DURATION 3d" in capsys.readouterr().out
        store = InfluxStore(influxd.store_url(database))
        assert _policies(store)["autogen"] == "720h0m0s"
        store.close()
    finally:
        get_settings.cache_clear()
        influxd.drop_database(database)


def test_a_long_read_of_few_day_points_is_one_query_and_a_large_one_two(influx_store, monkeypatch):
    # a year of one park's day marks (366 rows) is one round trip; a year of many meters' day
    # points (or of raw readings) runs as two parallel queries, one per core of influxd
    day = 86_400 * 10**9
    t0 = 1_735_660_800 * 10**9  # 2025-01-01T00:00+08:00
    influx_store.write(
        [
            Point(LEDGER_DAY, {"park": "p", "device": f"d{k}"}, {"mark": float(d)}, t0 + d * day)
            for k in range(8)
            for d in range(365)
        ]
    )
    statements: list[str] = []
    real = influx_store._chunks

    def counting(statement: str, *args: object, **kwargs: object) -> object:
        statements.append(statement)
        return real(statement, *args, **kwargs)

    monkeypatch.setattr(influx_store, "_chunks", counting)
    year = {"measurement": LEDGER_DAY, "fields": ["mark"], "start_ns": t0, "end_ns": t0 + 365 * day}
    one = influx_store.columns("p", devices=["d0"], **year)
    assert len(statements) == 1
    assert one["d0"].values["mark"].tolist() == [float(d) for d in range(365)]
    many = influx_store.columns("p", devices=[f"d{k}" for k in range(8)], **year)  # 2,920 rows
    assert len(statements) == 3
    assert all(
        many[f"d{k}"].values["mark"].tolist() == one["d0"].values["mark"].tolist() for k in range(8)
    )
