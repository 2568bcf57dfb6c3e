"""services/provisioning.py and the approved-devices merge of config/registry.py."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from config.errors import NotFoundError, RegistryError
from config.registry import (
    RegistryWatch,
    Role,
    approved_dir,
    approved_file,
    load_registry,
)
from services.provisioning import (
    ProvisioningError,
    approve_device,
    check_device,
    pending_devices,
)
from store.base import QuarantineRecord
from store.embedded import EmbeddedStore
from tests.provisioning.park import NEW_METER, PARK, write_registry


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """(registry file, approved folder)."""
    return write_registry(tmp_path / "registry"), approved_dir(tmp_path / "data")


def _fields(exc: pytest.ExceptionInfo[ProvisioningError]) -> list[str]:
    return [p.field for p in exc.value.problems]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "rs-grid"}, "id"),  # duplicate
        ({"building": "nowhere"}, "building"),
        ({"tenant": "nobody"}, "tenant"),
        ({"floor": 7}, "floor"),
        ({"parent": "rs-missing"}, "parent"),
        ({"units": {"power": "furlongs"}}, "units.power"),
        ({"units": {"steam": "t"}}, "units.steam"),
        ({"role": "boss"}, "role"),
        ({"id": "Bad Id"}, "id"),
        ({"multiplier": 0}, "multiplier"),
    ],
)
def test_a_bad_entry_names_its_field(paths, change, field):
    registry = load_registry(paths[0])
    with pytest.raises(ProvisioningError) as exc:
        check_device(registry.parks[PARK], NEW_METER | change)
    assert _fields(exc)[0] == field, exc.value.problems


def test_a_refused_approval_writes_nothing(paths):
    registry_path, approved = paths
    registry = load_registry(registry_path)
    approve_device(registry, PARK, NEW_METER, approved=approved)
    before = approved_file(approved, PARK).read_bytes()
    for bad in ({"id": "rs-grid"}, {"units": {"power": "furlongs"}}, {"building": "x"}):
        with pytest.raises(ProvisioningError):
            approve_device(registry, PARK, NEW_METER | {"id": "rs-other"} | bad, approved=approved)
    assert approved_file(approved, PARK).read_bytes() == before
    assert sorted(p.name for p in approved.iterdir()) == [f"{PARK}.approved.yaml"]  # no temp left
    with pytest.raises(NotFoundError):
        approve_device(registry, "nowhere", NEW_METER, approved=approved)
    assert not approved_file(approved, "nowhere").exists()


def test_an_approved_device_is_in_the_registry_loaded_again(paths):
    registry_path, approved = paths
    before = load_registry(registry_path, approved=approved)
    assert before.parks[PARK].device("rs-new") is None
    done = approve_device(before, PARK, NEW_METER, approved=approved)
    assert done.written
    assert done.registry.parks[PARK].device("rs-new") == done.device
    loaded = load_registry(registry_path, approved=approved)
    device = loaded.parks[PARK].device("rs-new")
    assert device == done.device
    assert device is not None
    assert device.multiplier == 40.0
    assert device.unit_of("power") == "W"
    assert device.role is Role.LOAD
    assert device.building == "hall"
    assert device.floor == 1
    # the hand-edited file is untouched, and loading without the folder leaves the device out
    assert load_registry(registry_path).parks[PARK].device("rs-new") is None
    # again with the same entry: nothing written; a second device joins the first
    again = approve_device(loaded, PARK, NEW_METER, approved=approved)
    assert not again.written
    second = approve_device(loaded, PARK, NEW_METER | {"id": "rs-new-2"}, approved=approved)
    ids = [d.id for d in load_registry(registry_path, approved=approved).parks[PARK].devices]
    assert ids == ["rs-grid", "rs-delta", "rs-new", "rs-new-2"]
    assert second.written


def test_a_device_approved_twice_with_different_entries_is_refused(paths):
    registry_path, approved = paths
    registry = load_registry(registry_path, approved=approved)
    done = approve_device(registry, PARK, NEW_METER, approved=approved)
    with pytest.raises(ProvisioningError) as exc:
        approve_device(done.registry, PARK, NEW_METER | {"multiplier": 80}, approved=approved)
    assert _fields(exc) == ["id"]
    # also against a registry in use that never saw the approval (another process's)
    with pytest.raises(ProvisioningError) as exc:
        approve_device(registry, PARK, NEW_METER | {"multiplier": 80}, approved=approved)
    assert _fields(exc) == ["id"]


def test_a_broken_approved_file_is_reported_with_file_and_line(paths):
    registry_path, approved = paths
    approved.mkdir(parents=True)
    approved_file(approved, PARK).write_text(
        "park: riverside\ndevices:\n  - {id: rs-x, kind: electricity_meter, role: load}\n"
        "  - {id: rs-y, kind: electricity_meter, role: load, building: nowhere}\n"
    )
    with pytest.raises(RegistryError) as exc:
        load_registry(registry_path, approved=approved)
    [problem] = exc.value.problems
    assert problem.file.endswith("riverside.approved.yaml")
    assert problem.line == 4
    assert "unknown building 'nowhere'" in problem.message
    approved_file(approved, "elsewhere").write_text("park: elsewhere\ndevices: []\n")
    approved_file(approved, PARK).unlink()
    with pytest.raises(RegistryError, match="park 'elsewhere' is not in the registry"):
        load_registry(registry_path, approved=approved)


def test_the_watch_reloads_on_change_and_keeps_the_old_registry_on_a_bad_file(
    paths, caplog: pytest.LogCaptureFixture
):
    registry_path, approved = paths
    now = [0.0]
    watch = RegistryWatch(registry_path, approved, poll_s=2.0, clock_s=lambda: now[0])
    assert watch.poll() is None  # nothing changed
    approve_device(watch.registry, PARK, NEW_METER, approved=approved)
    assert watch.poll() is None  # polled less than 2 s ago
    now[0] = 2.0
    reloaded = watch.poll()
    assert reloaded is not None
    assert reloaded.parks[PARK].device("rs-new") is not None
    now[0] = 4.0
    assert watch.poll() is None
    approved_file(approved, PARK).write_text("park: riverside\ndevices: [{id: rs-new}]\n")
    now[0] = 6.0
    with caplog.at_level(logging.ERROR, logger="smartpark.registry"):
        assert watch.poll() is None
    assert watch.registry is reloaded
    # one line about this file (other tests' watches may log to the same logger meanwhile)
    mine = str(approved_file(approved, PARK))
    [line] = [
        r for r in caplog.records if r.name == "smartpark.registry" and mine in r.getMessage()
    ]
    assert "keeping the registry in use" in line.getMessage()


def test_a_watch_given_a_registry_reloads_once_approved_files_exist(paths):
    registry_path, approved = paths
    given = load_registry(registry_path)
    # path None would be the packaged demo park: the given registry is what approvals join
    watch = RegistryWatch(None, approved, given)
    assert watch.poll(force=True) is None
    assert watch.registry is given
    approve_device(given, PARK, NEW_METER, approved=approved)
    reloaded = watch.poll(force=True)
    assert reloaded is not None
    assert reloaded.parks[PARK].device("rs-new") is not None


def _record(ns: int, device: str, reason: str = "unknown_device") -> QuarantineRecord:
    return QuarantineRecord(
        received_ns=ns,
        reason=reason,
        detail=f"device {device!r} is not in park {PARK!r}",
        topic=f"parks/{PARK}/devices/{device}/telemetry",
        excerpt=f'{{"ts": {ns // 10**6}, "power": {ns % 97}}}',
        park=PARK,
        device=device,
    )


def test_pending_devices_come_from_unknown_device_quarantine(paths, tmp_path):
    registry = load_registry(paths[0])
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    t0 = time.time_ns() - 60 * 10**9
    store.write_quarantine(
        [
            _record(t0, "rs-new"),
            _record(t0 + 10**9, "rs-new"),
            _record(t0 + 2 * 10**9, "rs-other"),
            _record(t0 + 3 * 10**9, "rs-new"),
            _record(t0 + 4 * 10**9, "rs-delta", reason="bad_value"),  # known device, other cause
            _record(t0 + 5 * 10**9, "rs-grid"),  # in the registry since (approved)
        ]
    )
    pending = pending_devices(store, registry.parks[PARK])
    store.close()
    assert [p.device for p in pending] == ["rs-new", "rs-other"]
    new = pending[0]
    assert new.messages == 3
    assert (new.first_seen_ns, new.last_seen_ns) == (t0, t0 + 3 * 10**9)
    assert new.topic == f"parks/{PARK}/devices/rs-new/telemetry"
    assert new.first_payload == _record(t0, "rs-new").excerpt
    assert pending[1].messages == 1
