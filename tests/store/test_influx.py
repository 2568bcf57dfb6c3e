"""What only the InfluxDB adapter has: its URL, its credentials, and no secrets in its repr."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from store import InfluxStore, open_store
from store.influx import _parse_url


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
