"""``GET /parks/{park}/devices/pending`` and ``POST /parks/{park}/devices`` (api/routes/
devices_admin.py): roles, a malformed approval refused with its field named, and an approved
device served at once and by a second app on the same data folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import approved_dir, approved_file
from config.settings import Settings
from store.base import QuarantineRecord
from store.embedded import EmbeddedStore
from tests.provisioning.park import NEW_METER, PARK, write_registry

TOKENS = {
    "city": "city-token-0123456789abcdef0123456789abcdef",
    "operator": "operator-token-0123456789abcdef0123456789",
    "other_operator": "other-op-token-0123456789abcdef0123456789",
    "tenant": "tenant-token-0123456789abcdef0123456789abc",
}
URL = f"/api/v1/parks/{PARK}/devices"


def _keys() -> ApiKeys:
    def entry(name: str, role: PrincipalRole, park: str | None, tenant: str | None = None):
        return KeyEntry(
            name=name, role=role, park=park, tenant=tenant, sha256=hash_token(TOKENS[name])
        )

    return ApiKeys(
        [
            entry("city", PrincipalRole.CITY, None),
            entry("operator", PrincipalRole.OPERATOR, PARK),
            entry("other_operator", PrincipalRole.OPERATOR, "wuhan-demo"),
            entry("tenant", PrincipalRole.TENANT, PARK, "delta"),
        ]
    )


def auth(caller: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[caller]}"}


@dataclass
class Api:
    client: TestClient
    settings: Settings
    store: EmbeddedStore


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        _env_file=None,
        registry=write_registry(tmp_path / "registry"),
        data_dir=tmp_path / "data",
        alarms=False,
        auth_failures_per_min=0,
    )
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    t0 = time.time_ns() - 30 * 10**9
    store.write_quarantine(
        [
            QuarantineRecord(
                received_ns=t0 + i * 10**9,
                reason="unknown_device",
                detail=f"device 'rs-new' is not in park {PARK!r}",
                topic=f"parks/{PARK}/devices/rs-new/telemetry",
                excerpt=f'{{"ts": {t0 // 10**6 + i * 1000}, "power": {1500 + i}}}',
                park=PARK,
                device="rs-new",
            )
            for i in range(3)
        ]
    )
    app = create_app(settings=settings, store=store, auth=_keys())
    with TestClient(app) as client:
        yield Api(client, settings, store)
    store.close()


def test_pending_lists_the_unknown_device_with_its_first_message(api):
    body = api.client.get(f"{URL}/pending", headers=auth("operator")).json()
    [pending] = body["devices"]
    assert pending["device"] == "rs-new"
    assert pending["messages"] == 3
    assert pending["topic"] == f"parks/{PARK}/devices/rs-new/telemetry"
    assert pending["first_payload"].endswith('"power": 1500}')
    assert pending["last_seen_ms"] - pending["first_seen_ms"] == 2000


@pytest.mark.parametrize(("caller", "status"), [("tenant", 403), ("other_operator", 403)])
def test_only_the_parks_staff_may_see_or_approve(api, caller, status):
    assert api.client.get(f"{URL}/pending", headers=auth(caller)).status_code == status
    assert api.client.post(URL, json=NEW_METER, headers=auth(caller)).status_code == status
    assert not approved_dir(api.settings.data_dir).exists()


def test_an_approved_device_is_served_at_once_and_leaves_the_pending_list(api):
    response = api.client.post(URL, json=NEW_METER, headers=auth("operator"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["written"] is True
    assert body["device"]["id"] == "rs-new"
    assert body["device"]["building"] == "hall"
    assert body["device"]["floor"] == 1
    got = api.client.get(f"{URL}/rs-new", headers=auth("city"))
    assert got.status_code == 200
    assert got.json()["tenant"] == "delta"
    pending = api.client.get(f"{URL}/pending", headers=auth("city")).json()
    assert pending["devices"] == []
    again = api.client.post(URL, json=NEW_METER, headers=auth("city"))
    assert again.status_code == 200
    assert again.json()["written"] is False
    # a second server on the same data folder (no restart of either) sees it too
    other = create_app(settings=api.settings, store=api.store, auth=_keys())
    with TestClient(other) as client:
        assert client.get(f"{URL}/rs-new", headers=auth("city")).status_code == 200


def test_a_server_started_before_the_approval_picks_it_up(api, tmp_path):
    # started first, on the same data folder: the registry is reloaded on a later request
    other = create_app(settings=api.settings, store=api.store, auth=_keys())
    with TestClient(other) as client:
        assert client.get(f"{URL}/rs-new", headers=auth("city")).status_code == 404
        assert api.client.post(URL, json=NEW_METER, headers=auth("city")).status_code == 201
        watch = other.state.registry_watch
        deadline = time.monotonic() + watch.poll_s + 5
        status = 404
        while status == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get(f"{URL}/rs-new", headers=auth("city")).status_code
        assert status == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "rs-grid"}, "id"),
        ({"units": {"power": "furlongs"}}, "units.power"),
        ({"building": "nowhere"}, "building"),
        ({"tenant": "nobody"}, "tenant"),
        ({"kind": "teapot"}, "kind"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_malformed_approval_names_the_field_and_changes_nothing(api, change, field):
    response = api.client.post(URL, json=NEW_METER | change, headers=auth("operator"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_request"
    assert ["body", field] in [e["loc"] for e in body["errors"]], body
    assert not approved_file(approved_dir(api.settings.data_dir), PARK).exists()
    assert api.client.get(f"{URL}/rs-new", headers=auth("city")).status_code == 404


def test_an_unknown_park_is_refused_and_nothing_written(api):
    response = api.client.post(
        "/api/v1/parks/nowhere/devices", json=NEW_METER, headers=auth("city")
    )
    assert response.status_code == 404
    assert "nowhere" in response.json()["message"]
    assert not approved_dir(api.settings.data_dir).exists()
