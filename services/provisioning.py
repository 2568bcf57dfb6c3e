"""Provisioning without a restart: pending devices and their approval into the registry.

A reading from a device the registry does not know is quarantined by the collector with the
reason ``unknown_device``; those records *are* the pending list (no second store of their own):
each device with its first payload and topic, how many messages it sent and when.

An operator approves a device into a park with its kind, role, building, floor, tenant, units
and multiplier. The entry is checked with the registry's own model and cross-checks (what
``smartpark check-config`` reports), then written — with the park's earlier approvals — to the
park's file of approved devices (``<data dir>/registry.d/<park>.approved.yaml``, written to a
temporary file and renamed), never into the hand-edited registry. The whole registry is loaded
again from disk with the new file before it replaces the old one, so a file that would not load
is never left behind. Running processes see the change through
:class:`config.registry.RegistryWatch`: the collector stores the device's next readings without
a restart.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.errors import InvalidRequestError, NotFoundError, Problem, RegistryError
from config.registry import (
    KINDS,
    Device,
    DeviceKind,
    ParkRegistry,
    Registry,
    RegistryWatch,
    approved_file,
    cross_check,
    merge_approved,
    replace_device,
    with_devices,
)
from config.units import UnknownUnitError, converter
from config.yamlfile import YamlFileError, read_yaml
from services.periodic import Periodic
from store.base import Store

__all__ = [
    "PENDING_REASON",
    "PENDING_SCAN_RECORDS",
    "Approval",
    "FieldProblem",
    "PendingDevice",
    "ProvisioningError",
    "RegistryPoller",
    "approve_device",
    "check_device",
    "pending_devices",
    "retire_device",
]

log = logging.getLogger("smartpark.registry")

PENDING_REASON = "unknown_device"
"""Quarantine reason of a reading from a device the registry does not know
(``ingest.decode.Reason.UNKNOWN_DEVICE``; services may not import ingest)."""

PENDING_SCAN_RECORDS = 1000
"""Newest quarantine records of a park the pending list is built from."""

_WRITE_LOCK = threading.Lock()  # one approval at a time in a process: read, check, write


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A device that published but is not in the registry: its first message (topic and an
    excerpt of the payload), how many of its messages were quarantined, first and last [ns]."""

    park: str
    device: str
    topic: str
    first_payload: str
    messages: int
    first_seen_ns: int
    last_seen_ns: int


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field of an approval that cannot be accepted: its dotted name and why."""

    field: str
    message: str
    code: str = "invalid"


class ProvisioningError(InvalidRequestError):
    """An approval was refused; ``problems`` names each field (nothing was written)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def pending_devices(
    store: Store, park: ParkRegistry, *, scan: int = PENDING_SCAN_RECORDS
) -> list[PendingDevice]:
    """Devices of ``park`` quarantined as unknown among its newest ``scan`` quarantine records
    and still not in the registry, the most recently seen first."""
    found: dict[str, PendingDevice] = {}
    for r in reversed(store.quarantined(park=park.id, limit=scan)):  # oldest first
        if r.reason != PENDING_REASON or not r.device or park.device(r.device) is not None:
            continue
        seen = found.get(r.device)
        if seen is None:
            found[r.device] = PendingDevice(
                park.id, r.device, r.topic, r.excerpt, 1, r.received_ns, r.received_ns
            )
        else:
            found[r.device] = PendingDevice(
                park.id,
                r.device,
                seen.topic,
                seen.first_payload,
                seen.messages + 1,
                seen.first_seen_ns,
                max(seen.last_seen_ns, r.received_ns),
            )
    return sorted(found.values(), key=lambda p: (-p.last_seen_ns, p.device))


def check_device(park: ParkRegistry, entry: Mapping[str, Any]) -> Device:
    """The device ``entry`` (the registry's device fields) describes, checked as the registry
    checks a device of ``park``: its model (kind, role, id, units …) and its references (a new
    id, a known tenant, building, floor and parent meter). Raises :class:`ProvisioningError`
    naming every field at fault."""
    problems = _unit_problems(entry)
    if problems:
        raise ProvisioningError(problems)
    try:
        device = Device.model_validate(dict(entry))
    except ValidationError as exc:
        raise ProvisioningError(
            [
                FieldProblem(
                    ".".join(str(p) for p in err["loc"]) or "device",
                    str(err["msg"]).removeprefix("Value error, "),
                    str(err["type"]),
                )
                for err in exc.errors()
            ]
        ) from None
    index = len(park.devices)
    for loc, msg in cross_check(with_devices(park, [device])):
        if loc[:2] == ("devices", index):
            problems.append(FieldProblem(".".join(str(p) for p in loc[2:]) or "id", msg))
    if park.device(device.id) is not None:
        problems = [p for p in problems if p.field != "id"]
        problems.insert(
            0,
            FieldProblem("id", f"park {park.id!r} already has a device {device.id!r}", "duplicate"),
        )
    if problems:
        raise ProvisioningError(problems)
    return device


def _unit_problems(entry: Mapping[str, Any]) -> list[FieldProblem]:
    """Unknown units, named by their field (the model would name only the device)."""
    units, kind = entry.get("units"), entry.get("kind")
    if not isinstance(units, Mapping) or kind not in set(DeviceKind):
        return []
    fields = KINDS[DeviceKind(kind)]
    out = []
    for name, unit in units.items():
        where = f"units.{name}"
        if name not in fields:
            out.append(FieldProblem(where, f"a {kind} has no field {name!r}", "unknown_field"))
            continue
        try:
            converter(fields[name].quantity, str(unit))
        except UnknownUnitError as exc:
            out.append(FieldProblem(where, str(exc), "unknown_unit"))
    return out


@dataclass(frozen=True, slots=True)
class Approval:
    """The registry with the approved device, the device, and whether the file was written
    (False when the very same entry had been approved before: approving is idempotent)."""

    registry: Registry
    device: Device
    written: bool


def approve_device(
    registry: Registry, park_id: str, entry: Mapping[str, Any], *, approved: Path
) -> Approval:
    """Approve the device ``entry`` describes into park ``park_id`` of ``registry`` (the one in
    use): check it (:func:`check_device`), then write the park's approved file in the folder
    ``approved`` — to a temporary file, checked as a whole against the park as the registry
    loader would check it, then renamed over the old one.

    Raises :class:`NotFoundError` for an unknown park, :class:`ProvisioningError` for a bad
    entry or an id already in use by another entry (nothing written), :class:`RegistryError`
    when the park's approved file cannot be read.
    """
    park = registry.park(park_id)
    if park is None:
        raise NotFoundError(f"unknown park {park_id!r}")
    with _WRITE_LOCK:
        file = approved_file(approved, park_id)
        earlier = _approved_entries(file, park_id)
        same = park.device(str(entry.get("id", "")))
        if same is not None and _same_entry(same, entry):
            return Approval(registry, same, written=False)
        device = check_device(park, entry)
        if any(e.get("id") == device.id for e in earlier):
            raise ProvisioningError(
                [FieldProblem("id", f"device {device.id!r} is already approved", "duplicate")]
            )
        ids = {e.get("id") for e in earlier}
        doc = _approved_doc(file, park_id)
        doc["devices"] = [*earlier, device.model_dump(mode="json", exclude_defaults=True)]
        _write_checked(registry, park, doc, approved=approved, approved_ids=ids)
    parks = dict(registry.parks)
    parks[park_id] = with_devices(park, [device])
    return Approval(Registry(parks=parks, sources=registry.sources), device, written=True)


def retire_device(
    registry: Registry, park_id: str, device_id: str, at_ns: int, *, approved: Path
) -> Approval:
    """Retire device ``device_id`` of park ``park_id`` from ``at_ns`` [ns since the epoch]: its
    readings from then on are quarantined (reason ``retired``); nothing stored is deleted, and
    the device stays in the registry (so its history stays in the ledger and reports). Recorded
    in the park's approved file, for hand-edited and approved devices alike.

    Raises :class:`NotFoundError` for an unknown park or device. A device already retired is
    left as it is (``written`` False).
    """
    park = registry.park(park_id)
    if park is None:
        raise NotFoundError(f"unknown park {park_id!r}")
    device = park.device(device_id)
    if device is None:
        raise NotFoundError(f"park {park_id!r} has no device {device_id!r}")
    if device.retired is not None:
        return Approval(registry, device, written=False)
    at = datetime.fromtimestamp(at_ns / 1e9, tz=UTC)
    with _WRITE_LOCK:
        file = approved_file(approved, park_id)
        earlier = _approved_entries(file, park_id)
        doc = _approved_doc(file, park_id)
        doc["retired"] = {**doc.get("retired", {}), device_id: at.isoformat()}
        ids = {e.get("id") for e in earlier}
        _write_checked(registry, park, doc, approved=approved, approved_ids=ids)
    retired = device.model_copy(update={"retired": at})
    parks = dict(registry.parks)
    parks[park_id] = replace_device(park, retired)
    return Approval(Registry(parks=parks, sources=registry.sources), retired, written=True)


def _approved_doc(file: Path, park_id: str) -> dict[str, Any]:
    """The park's approved file as a document to change (a new one when there is none)."""
    doc: dict[str, Any] = {"park": park_id, "devices": _approved_entries(file, park_id)}
    if file.exists():
        data = read_yaml(file).data
        retired = data.get("retired") if isinstance(data, dict) else None
        if isinstance(retired, dict) and retired:
            doc["retired"] = {str(k): str(v) for k, v in retired.items()}
    return doc


def _write_checked(
    registry: Registry,
    park: ParkRegistry,
    doc: Mapping[str, Any],
    *,
    approved: Path,
    approved_ids: set[Any],
) -> None:
    """Write ``doc`` as the park's approved file: to a temporary file, checked as the registry
    loader reads it against the park without its earlier approvals, then renamed."""
    file = approved_file(approved, park.id)
    hand_edited = park.model_copy(
        update={
            "devices": tuple(
                d.model_copy(update={"retired": None})
                for d in park.devices
                if d.id not in approved_ids
            )
        }
    )
    hand_edited.__dict__.pop("_index", None)
    approved.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=approved, prefix=f".{park.id}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"# devices approved into park {park.id} (smartpark writes this file)\n")
            yaml.safe_dump(dict(doc), out, allow_unicode=True, sort_keys=False)
            out.flush()
            os.fsync(out.fileno())
        # the file as the loader will read it: parsed, each device validated, cross-checked
        merge_approved(Registry({park.id: hand_edited}, registry.sources), [tmp])
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def _same_entry(device: Device, entry: Mapping[str, Any]) -> bool:
    """Whether ``entry`` describes ``device`` exactly (a repeated approval)."""
    try:
        return Device.model_validate(dict(entry)) == device
    except ValidationError:
        return False


def _approved_entries(file: Path, park_id: str) -> list[dict[str, Any]]:
    """The device entries already in a park's approved file (none when there is no file)."""
    if not file.exists():
        return []
    try:
        data = read_yaml(file).data
    except YamlFileError as exc:
        raise RegistryError(exc.problems) from None
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list) or data.get("park") != park_id:
        raise RegistryError(
            [Problem(str(file), 1, f"not a file of devices approved into park {park_id!r}")]
        )
    return [d for d in devices if isinstance(d, dict)]


class RegistryPoller(Periodic):
    """Polls a :class:`~config.registry.RegistryWatch` in the background, so that its listeners
    (the live stream, the alarm engine) see approved and retired devices within
    ``every_s`` [s] even when no request arrives."""

    name = "registry-watch"

    def __init__(self, watch: RegistryWatch) -> None:
        super().__init__(log)
        self.watch = watch

    def run_pass(self) -> bool:
        """Look at the approved files once; never more work waiting."""
        self.watch.poll()
        return False
