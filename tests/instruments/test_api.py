"""``/api/v1/parks/{park}/instruments``: entry, roles, and bad input answered with a 4xx that names
the field and changes nothing — on the embedded store and on a real influxd."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.instruments import InstrumentIn, InstrumentListOut, InstrumentOut
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import load_registry
from config.settings import Settings
from store.base import Store

A, X, Y = "wuhan-demo", "chipcore", "lumina"
URL = f"/api/v1/parks/{A}/instruments"
TOKENS = {
    "city": "city-token-0123456789abcdef0123456789abcdef",
    "op": "operator-token-0123456789abcdef0123456789a",
    "x": "tenant-x-token-0123456789abcdef0123456789a",
    "y": "tenant-y-token-0123456789abcdef0123456789a",
}

GEC: dict[str, Any] = {
    "kind": "gec",
    "certificates": 500,
    "generation_from": "2025-01",
    "generation_to": "2025-06",
    "retired_from": "2025-03",
    "retired_to": "2025-03",
    "serial_first": "GEC2025-000001",
    "serial_last": "GEC2025-000500",
    "cancellation_id": "HX-2025-000123",
}
CONTRACT_X: dict[str, Any] = {
    "kind": "contract",
    "tenant": X,
    "kwh_per_month": 80_000.0,
    "generation_from": "2025-01",
    "generation_to": "2025-12",
    "counterparty": "湖北风电有限公司",
}


def _keys() -> ApiKeys:
    def key(name: str, role: PrincipalRole, tenant: str | None = None) -> KeyEntry:
        park = None if role is PrincipalRole.CITY else A
        return KeyEntry(
            name=name, role=role, park=park, tenant=tenant, sha256=hash_token(TOKENS[name])
        )

    return ApiKeys(
        [
            key("city", PrincipalRole.CITY),
            key("op", PrincipalRole.OPERATOR),
            key("x", PrincipalRole.TENANT, X),
            key("y", PrincipalRole.TENANT, Y),
        ]
    )


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


_FIXTURES = {"embedded": "embedded_store", "influxdb": "influx_store"}


@pytest.fixture(params=["embedded", pytest.param("influxdb", marks=pytest.mark.influxdb)])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(_FIXTURES[request.param])


def _client(store: Store, tmp_path: Any) -> TestClient:
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, alarms=False, auth_failures_per_min=0),
        store=store,
        registry=load_registry(),
        auth=_keys(),
    )
    return TestClient(app)


@pytest.fixture
def client(store: Store, tmp_path: Any) -> Iterator[TestClient]:
    with _client(store, tmp_path) as c:
        yield c


@pytest.fixture
def embedded(embedded_store: Store, tmp_path: Any) -> Iterator[TestClient]:
    with _client(embedded_store, tmp_path) as c:
        yield c


def test_enter_read_replace_and_delete(client: TestClient) -> None:
    put = client.put(f"{URL}/gec-2025-a", json=GEC, headers=as_("op"))
    assert put.status_code == 200, put.text
    body = put.json()
    assert {k: body[k] for k in GEC} == GEC
    assert (body["park"], body["id"], body["tenant"], body["vintage"]) == (
        A,
        "gec-2025-a",
        None,
        2025,
    )
    assert body["energy_kwh"] == 500_000.0  # 500 GEC × 1,000 kWh
    assert body["reporting_year"] == 2025
    assert body["entered_by"] == "op"
    assert body["kind_label"] == {"zh": "绿证", "en": "green electricity certificates (GEC)"}
    assert client.get(f"{URL}/gec-2025-a", headers=as_("city")).json() == body
    contract = client.put(f"{URL}/ppa-x", json=CONTRACT_X, headers=as_("city")).json()
    # delivery months 2025-01..12 are its consumption period: 12 × 80,000 kWh
    assert (contract["retired_from"], contract["retired_to"]) == ("2025-01", "2025-12")
    assert contract["energy_kwh"] == 960_000.0
    listed = client.get(URL, headers=as_("op")).json()
    assert [i["id"] for i in listed["instruments"]] == ["gec-2025-a", "ppa-x"]
    assert listed["total_kwh"] == 1_460_000.0
    assert client.get(f"{URL}?year=2026", headers=as_("op")).json()["instruments"] == []
    only_x = client.get(f"{URL}?tenant={X}&year=2025", headers=as_("op")).json()
    assert [i["id"] for i in only_x["instruments"]] == ["ppa-x"]
    ghost = client.get(f"{URL}?tenant=ghost", headers=as_("op"))
    assert (ghost.status_code, ghost.json()["message"]) == (
        404,
        "park 'wuhan-demo' has no tenant 'ghost'",
    )
    # the same id again replaces it (a correction, not a second retirement)
    fewer = GEC | {"certificates": 400, "serial_last": "GEC2025-000400"}
    assert client.put(f"{URL}/gec-2025-a", json=fewer, headers=as_("op")).status_code == 200
    assert client.get(f"{URL}/gec-2025-a", headers=as_("op")).json()["energy_kwh"] == 400_000.0
    deleted = client.delete(f"{URL}/gec-2025-a", headers=as_("op"))
    assert deleted.status_code == 200
    assert deleted.json()["certificates"] == 400
    missing = client.get(f"{URL}/gec-2025-a", headers=as_("op"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert client.delete(f"{URL}/gec-2025-a", headers=as_("op")).status_code == 404


def test_tenants_read_only_their_own(embedded: TestClient) -> None:
    c = embedded
    c.put(f"{URL}/park-gec", json=GEC, headers=as_("op"))
    c.put(f"{URL}/ppa-x", json=CONTRACT_X, headers=as_("op"))
    c.put(f"{URL}/ppa-y", json=CONTRACT_X | {"tenant": Y}, headers=as_("op"))
    mine = c.get(URL, headers=as_("x")).json()
    assert (mine["tenant"], [i["id"] for i in mine["instruments"]]) == (X, ["ppa-x"])
    assert mine["total_kwh"] == 960_000.0
    assert c.get(f"{URL}/ppa-x", headers=as_("x")).status_code == 200
    # a park-scoped instrument, another tenant's, or none at all: 403 alike
    for other in ("park-gec", "ppa-y", "nothing"):
        refused = c.get(f"{URL}/{other}", headers=as_("x"))
        assert refused.status_code == 403, other
        assert other not in refused.text
    assert c.get(f"{URL}?tenant={Y}", headers=as_("x")).status_code == 403
    # tenants never write
    before = c.get(URL, headers=as_("op")).json()
    assert c.put(f"{URL}/mine", json=CONTRACT_X, headers=as_("x")).status_code == 403
    assert c.delete(f"{URL}/ppa-x", headers=as_("x")).status_code == 403
    assert c.get(URL, headers=as_("op")).json() == before


def _fields(response: Any) -> list[str]:
    return [e["loc"][-1] for e in response.json().get("errors", [])]


BAD = [
    # (id, body, status, field)
    (
        "dup-serials",
        GEC
        | {
            "cancellation_id": None,
            "serial_first": "GEC2025-000400",
            "serial_last": "GEC2025-000899",
        },
        409,
        "serial_first",
    ),
    ("same-range", GEC | {"cancellation_id": None}, 409, "serial_first"),
    ("retired-twice", GEC | {"serial_first": None, "serial_last": None}, 409, "cancellation_id"),
    # vintage 2022: valid to 2023-12, retired against 2025-03
    (
        "old",
        GEC
        | {
            "generation_from": "2022-01",
            "generation_to": "2022-06",
            "cancellation_id": "new",
            "serial_first": None,
            "serial_last": None,
        },
        422,
        "vintage",
    ),
    ("ghost", CONTRACT_X | {"tenant": "ghost"}, 422, "tenant"),
    ("zero", GEC | {"certificates": 0}, 422, "certificates"),
    ("negative", CONTRACT_X | {"kwh_per_month": -5.0}, 422, "kwh_per_month"),
    (
        "count",
        GEC | {"cancellation_id": "n2", "serial_first": "Z-1", "serial_last": "Z-10"},
        422,
        "serial_last",
    ),
    ("month", GEC | {"retired_to": "2025-13"}, 422, "retired_to"),
    ("unknown", GEC | {"colour": "green"}, 422, "colour"),
]


@pytest.mark.parametrize(("instrument_id", "body", "status", "field"), BAD)
def test_bad_input_names_the_field_and_changes_nothing(
    embedded: TestClient, instrument_id: str, body: dict[str, Any], status: int, field: str
) -> None:
    c = embedded
    assert c.put(f"{URL}/gec-2025-a", json=GEC, headers=as_("op")).status_code == 200
    before = c.get(URL, headers=as_("op")).json()
    refused = c.put(f"{URL}/{instrument_id}", json=body, headers=as_("op"))
    assert refused.status_code == status, refused.text
    answer = refused.json()
    assert answer["code"] == {409: "conflict", 422: "invalid_request"}[status]
    assert field in _fields(refused)
    assert field in answer["message"]
    assert c.get(URL, headers=as_("op")).json() == before


def test_bad_ids_are_refused(embedded: TestClient) -> None:
    for bad in ("a%3Fb", "a@b", "-x", "x" * 65):
        assert embedded.put(f"{URL}/{bad}", json=GEC, headers=as_("op")).status_code == 422, bad


def test_every_example_validates_and_is_accepted(embedded: TestClient) -> None:
    for model in (InstrumentIn, InstrumentOut, InstrumentListOut):
        examples = (model.model_config.get("json_schema_extra") or {}).get("examples")
        assert isinstance(examples, list)
        assert examples
        for example in examples:
            model.model_validate(example)
    schema = embedded.get("/openapi.json").json()["components"]["schemas"]
    assert schema["InstrumentIn"]["examples"][0]["kind"] == "gec"
    # the request examples pass the service's rules too, not only the schema
    ins = InstrumentIn.model_config.get("json_schema_extra") or {}
    assert isinstance(ins, dict)
    examples = ins["examples"]
    assert isinstance(examples, list)
    for i, example in enumerate(examples):
        put = embedded.put(f"{URL}/example-{i}", json=example, headers=as_("op"))
        assert put.status_code == 200, put.text
    out = InstrumentOut.model_config.get("json_schema_extra") or {}
    assert isinstance(out, dict)
    example_out = out["examples"][0]  # type: ignore[index]
    got = embedded.get(f"{URL}/example-0", headers=as_("op")).json()
    same = {k for k in got if k not in ("id", "entered_by", "updated", "updated_ms")}
    assert {k: got[k] for k in same} == {k: example_out[k] for k in same}
