"""API keys and the principals they stand for.

A key file (``SMARTPARK_API_KEYS``) is a YAML list; each entry names a principal and holds the
SHA-256 of its token, never the token itself::

    - name: ops-wuhan            # who holds the key (shown in logs instead of the token)
      role: operator             # city | operator | tenant | gateway
      park: wuhan-demo           # operator and tenant: the park
      sha256: 3f0c…              # hex SHA-256 of the token (64 characters)
    - name: chipcore
      role: tenant
      park: wuhan-demo
      tenant: chipcore           # tenant: the tenant of that park
      sha256: 9a1e…
      created: 2026-12-01        # optional: when the key was made (or last rotated)
      expires: 2027-06-30        # optional: valid through that day (UTC), then 401 key_expired

Roles: ``city`` sees every park; ``operator`` one park with all its tenants; ``tenant`` only its own
meters, indicators and reports in its park; ``gateway`` is a publish-only MQTT credential that the
API refuses everywhere. ``smartpark keys add`` generates a token, appends its entry and prints the
token once; ``keys list`` shows the entries (never a hash), ``keys revoke NAME`` removes one and
``keys rotate NAME`` gives it a new token (printed once; the old one stops working). Each of them
rewrites the file atomically and touches only the lines of the entry concerned, so comments stay.

A running server reads the file again when its modification time or size changes
(:class:`KeyFile`, checked at most every ``check_every_s``), so a revoke, a rotation or a new key
takes effect within a second or two, without a restart.

Checking a token (:meth:`ApiKeys.authenticate`) hashes it first and looks the digest up. Hashing
first makes the lookup safe against timing attacks: whatever a dictionary lookup's timing leaks is
about ``SHA-256(guess)``, which an attacker cannot steer toward a stored digest (that would need a
preimage), and every digest has the same length. The found digest is then confirmed with
:func:`hmac.compare_digest`, which is called once per request whether the key exists or not.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from config.errors import ConfigError, Problem
from config.registry import Registry
from config.yamlfile import YamlDocument, YamlFileError, read_yaml

__all__ = [
    "AUTH_OFF",
    "MAX_KEYS",
    "MAX_KEY_FILE_BYTES",
    "ApiKeys",
    "KeyEntry",
    "KeyFile",
    "KeysError",
    "Principal",
    "PrincipalRole",
    "add_key",
    "hash_token",
    "list_keys",
    "load_api_keys",
    "new_token",
    "revoke_key",
    "rotate_key",
]

log = logging.getLogger("smartpark.auth")


class PrincipalRole(StrEnum):
    """What a key may see."""

    CITY = "city"  # every park
    OPERATOR = "operator"  # one park, all its tenants
    TENANT = "tenant"  # one tenant of one park: its own data only
    GATEWAY = "gateway"  # publish-only MQTT credential; the API refuses it


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the key's name, role, and the park and tenant it is bound to."""

    name: str
    role: PrincipalRole
    park: str | None = None
    tenant: str | None = None

    def sees_park(self, park_id: str) -> bool:
        """Whether this principal may see anything of park ``park_id``."""
        if self.role is PrincipalRole.CITY:
            return True
        if self.role in (PrincipalRole.OPERATOR, PrincipalRole.TENANT):
            return self.park == park_id
        return False

    def sees_tenant(self, park_id: str, tenant_id: str | None) -> bool:
        """Whether this principal may see data of ``tenant_id`` in ``park_id`` (None: park-level,
        shared data such as the grid connection or PV, which tenants may not see)."""
        if not self.sees_park(park_id):
            return False
        if self.role is PrincipalRole.TENANT:
            return tenant_id is not None and tenant_id == self.tenant
        return True


AUTH_OFF = Principal(name="auth-off", role=PrincipalRole.CITY)
"""The principal every request acts as when authentication is off (``SMARTPARK_AUTH=off``)."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _a(role: PrincipalRole) -> str:
    return f"an {role}" if role is PrincipalRole.OPERATOR else f"a {role}"


class KeyEntry(BaseModel):
    """One entry of the key file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    role: PrincipalRole
    park: str | None = None
    tenant: str | None = None
    sha256: str = Field(description="hex SHA-256 of the token")
    created: date | None = Field(default=None, description="day the token was made (UTC)")
    expires: date | None = Field(
        default=None, description="last day the key is valid (UTC); refused from the next day"
    )

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX64.fullmatch(value):
            raise ValueError("must be 64 lower-case hex characters (the token's SHA-256)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KeyEntry:
        if self.role in (PrincipalRole.OPERATOR, PrincipalRole.TENANT) and not self.park:
            raise ValueError(f"{_a(self.role)} key needs a park")
        if self.role is PrincipalRole.TENANT and not self.tenant:
            raise ValueError("a tenant key needs a tenant")
        if self.role is not PrincipalRole.TENANT and self.tenant is not None:
            raise ValueError(f"{_a(self.role)} key cannot name a tenant (only tenant keys do)")
        if self.role is PrincipalRole.CITY and self.park is not None:
            raise ValueError("a city key sees every park: it cannot name one")
        return self

    @property
    def principal(self) -> Principal:
        """The principal this key stands for."""
        return Principal(name=self.name, role=self.role, park=self.park, tenant=self.tenant)

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the key has expired at ``now`` (default: the current time): it is valid
        through the whole of its ``expires`` day, UTC."""
        if self.expires is None:
            return False
        now = now if now is not None else datetime.now(UTC)
        end = datetime.combine(self.expires + timedelta(days=1), datetime.min.time(), UTC)
        return now >= end


class KeysError(ConfigError):
    """The key file has one or more problems; ``problems`` lists them all, with file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("API key file:\n" + "\n".join(f"  {p}" for p in problems))


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the key file stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


_NO_MATCH = "0" * 64  # compared against when no key matches, so every check costs the same


class ApiKeys:
    """The keys of a key file, by the SHA-256 of their tokens."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._by_digest: dict[str, KeyEntry] = {e.sha256: e for e in entries}

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> KeyEntry | None:
        """The entry of ``token`` (expired or not), or None. Never logs or keeps the token."""
        digest = hash_token(token)
        entry = self._by_digest.get(digest)
        stored = digest if entry is not None else _NO_MATCH
        # the lookup above matched on the digest; confirm in constant time
        if hmac.compare_digest(stored, digest) and entry is not None:
            return entry
        return None

    def authenticate(self, token: str, now: datetime | None = None) -> Principal | None:
        """The principal of ``token``, or None (unknown, or expired at ``now``)."""
        entry = self.lookup(token)
        if entry is None or entry.expired(now):
            return None
        return entry.principal


class KeyFile(ApiKeys):
    """The keys of a key file that a running server follows: before a lookup, the file is read
    again when its modification time or size has changed, looked at no more often than every
    ``check_every_s`` [s]. A file that has become invalid (or gone) keeps the keys last read and
    logs an ERROR with its problems until it is fixed; the CLI writes the file atomically, so only
    a hand edit can get there."""

    def __init__(self, path: Path, registry: Registry, *, check_every_s: float = 1.0) -> None:
        super().__init__([])
        self.path = path
        self.registry = registry
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._seen = self._signature()
        self._by_digest = load_api_keys(path, registry)._by_digest

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self, *, force: bool = False) -> bool:
        """Read the file again if it changed (and the last look is ``check_every_s`` old, unless
        ``force``); True when new keys were loaded."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every_s:
            return False
        with self._lock:
            if not force and now - self._checked < self.check_every_s:
                return False
            self._checked = now
            seen = self._signature()
            if seen == self._seen:
                return False
            self._seen = seen
            try:
                keys = load_api_keys(self.path, self.registry)
            except KeysError as exc:
                log.error("API keys: %s; keeping the %d keys read before", exc, len(self))
                return False
            self._by_digest = keys._by_digest
        log.info("API keys: %d from %s (the file changed)", len(self), self.path)
        return True

    def lookup(self, token: str) -> KeyEntry | None:
        """As :meth:`ApiKeys.lookup`, on the file as it is now (within ``check_every_s``)."""
        self.refresh()
        return super().lookup(token)


# -- the key file ---------------------------------------------------------------------------------

MAX_KEY_FILE_BYTES = 1024 * 1024
"""Largest key file read [bytes]; an entry takes about 100 bytes, so about 10,000 keys fit."""

MAX_KEYS = 100_000
"""Most entries in a key file. The size bound above is met first by real keys; this one stops a
file of tiny junk entries (``[0, 0, …]``) from being validated, and reported, entry by entry."""


def _check_scope(entry: KeyEntry, registry: Registry) -> str | None:
    """Why the entry's park or tenant does not exist in the registry, or None."""
    if entry.park is None:
        return None
    park = registry.park(entry.park)
    if park is None:
        return f"unknown park {entry.park!r}; known: {', '.join(sorted(registry.parks))}"
    if entry.tenant is not None and entry.tenant not in {t.id for t in park.tenants}:
        known = ", ".join(t.id for t in park.tenants)
        return f"park {entry.park!r} has no tenant {entry.tenant!r}; known: {known}"
    return None


def _read(path: Path, max_file_bytes: int) -> YamlDocument:
    """The key file, parsed (:func:`config.yamlfile.read_yaml`: size cap before reading, alias
    guard, file:line); :class:`KeysError` with every problem."""
    try:
        return read_yaml(path, max_bytes=max_file_bytes, allow_empty=True)
    except YamlFileError as exc:
        if exc.problems[0].message.startswith("cannot read"):
            why = exc.problems[0].message.removeprefix("cannot read: ")
            raise KeysError([Problem(str(path), 0, f"cannot read the key file: {why}")]) from None
        raise KeysError(exc.problems) from None


def _entries(
    doc: YamlDocument, registry: Registry, *, max_keys: int = MAX_KEYS
) -> tuple[list[KeyEntry], list[Problem]]:
    name, root, data = doc.file, doc.root, doc.data
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode) or not isinstance(data, list):
        return [], [doc.problem((), "expected a list of keys (- name: …, role: …)")]
    if len(data) > max_keys:
        message = f"the file holds {len(data):,} keys, more than {max_keys:,}"
        return [], [doc.problem((), message)]
    entries: list[KeyEntry] = []
    problems: list[Problem] = []
    names: dict[str, int] = {}
    digests: dict[str, int] = {}
    for i, item in enumerate(data):
        line = doc.line((i,))
        if not isinstance(item, dict):
            problems.append(Problem(name, line, "each key must be a mapping (name, role, …)"))
            continue
        try:
            entry = KeyEntry.model_validate(item)
        except ValidationError as exc:
            problems.extend(doc.problems(exc, prefix=(i,)))
            continue
        why = _check_scope(entry, registry)
        if why is not None:
            field = "tenant" if "tenant" in why.split(";")[0] else "park"
            problems.append(doc.problem((i, field), why))
            continue
        if entry.name in names:
            problems.append(
                Problem(name, line, f"name {entry.name!r} already used on line {names[entry.name]}")
            )
            continue
        if entry.sha256 in digests:
            first = digests[entry.sha256]
            problems.append(Problem(name, line, f"the same token is already on line {first}"))
            continue
        names[entry.name] = line
        digests[entry.sha256] = line
        entries.append(entry)
    return entries, problems


def load_api_keys(
    path: Path,
    registry: Registry,
    *,
    max_file_bytes: int = MAX_KEY_FILE_BYTES,
    max_keys: int = MAX_KEYS,
) -> ApiKeys:
    """Load and check a key file against the registry; every problem is reported with its line.

    A file above ``max_file_bytes`` [bytes] is refused before it is read, and one of more than
    ``max_keys`` entries before any entry is checked. Raises :class:`KeysError`.
    """
    entries, problems = _entries(_read(path, max_file_bytes), registry, max_keys=max_keys)
    if problems:
        raise KeysError(problems)
    return ApiKeys(entries)


def add_key(
    path: Path,
    registry: Registry,
    *,
    name: str,
    role: PrincipalRole,
    park: str | None = None,
    tenant: str | None = None,
    expires: date | None = None,
    today: date | None = None,
) -> str:
    """Generate a token, append its hashed entry to the key file (created if missing) and return
    the token, which is stored nowhere. ``expires`` is the last day the key is valid (UTC);
    ``today`` (default: the current UTC day) is written as ``created``. Raises
    :class:`ConfigError` for a bad role, park, tenant, name or an expiry already past, and
    :class:`KeysError` when the existing file has problems."""
    today = today if today is not None else datetime.now(UTC).date()
    if expires is not None and expires < today:
        raise ConfigError(f"--expires {expires} is already past (today is {today}, UTC)")
    token = new_token()
    try:
        entry = KeyEntry(
            name=name,
            role=role,
            park=park,
            tenant=tenant,
            sha256=hash_token(token),
            created=today,
            expires=expires,
        )
    except ValidationError as exc:
        msgs = [str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors()]
        raise ConfigError("; ".join(msgs)) from None
    why = _check_scope(entry, registry)
    if why is not None:
        raise ConfigError(why)
    doc = _read(path, MAX_KEY_FILE_BYTES) if path.exists() else None
    old = path.read_text(encoding="utf-8") if doc is not None else ""
    existing, problems = _entries(doc, registry) if doc is not None else ([], [])
    root = doc.root if doc is not None else None
    if problems:
        raise KeysError(problems)
    if any(e.name == name for e in existing):
        raise ConfigError(f"{path}: a key named {name!r} already exists")
    item = _dumpable(entry)
    block = yaml.safe_dump([item], sort_keys=False, allow_unicode=True)
    if isinstance(root, yaml.SequenceNode) and root.flow_style:  # `[]`: rewrite as a block list
        data = [_dumpable(e) for e in existing]
        new = yaml.safe_dump([*data, item], sort_keys=False, allow_unicode=True)
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + block
    _write_private(path, new)
    return token


def list_keys(path: Path, registry: Registry) -> list[KeyEntry]:
    """The entries of the key file, in file order. Raises :class:`KeysError`."""
    entries, problems = _entries(_read(path, MAX_KEY_FILE_BYTES), registry)
    if problems:
        raise KeysError(problems)
    return entries


def revoke_key(path: Path, registry: Registry, name: str) -> KeyEntry:
    """Remove the key ``name`` from the file (its token stops working) and return its entry.
    Raises :class:`ConfigError` when there is no such key, :class:`KeysError` for a bad file."""
    doc, entries, index = _find(path, registry, name)
    _write_private(path, _replace_item(path.read_text(encoding="utf-8"), doc, entries, index, None))
    return entries[index]


def rotate_key(path: Path, registry: Registry, name: str, *, today: date | None = None) -> str:
    """Give the key ``name`` a new token and return it (stored nowhere); the old token stops
    working. Role, scope and expiry stay; ``created`` becomes ``today`` (default: the current
    UTC day). Raises :class:`ConfigError` when there is no such key, :class:`KeysError` for a
    bad file."""
    doc, entries, index = _find(path, registry, name)
    token = new_token()
    today = today if today is not None else datetime.now(UTC).date()
    rotated = entries[index].model_copy(update={"sha256": hash_token(token), "created": today})
    text = _replace_item(path.read_text(encoding="utf-8"), doc, entries, index, rotated)
    _write_private(path, text)
    return token


def _dumpable(entry: KeyEntry) -> dict[str, object]:
    return entry.model_dump(mode="json", exclude_none=True)


def _find(path: Path, registry: Registry, name: str) -> tuple[YamlDocument, list[KeyEntry], int]:
    if not path.exists():
        raise ConfigError(f"{path}: no such key file")
    doc = _read(path, MAX_KEY_FILE_BYTES)
    entries, problems = _entries(doc, registry)
    if problems:
        raise KeysError(problems)
    for i, entry in enumerate(entries):
        if entry.name == name:
            return doc, entries, i
    known = ", ".join(e.name for e in entries) or "none"
    raise ConfigError(f"{path}: no key named {name!r}; known: {known}")


def _replace_item(
    text: str, doc: YamlDocument, entries: list[KeyEntry], index: int, new: KeyEntry | None
) -> str:
    """``text`` with the ``index``-th entry replaced by ``new`` (None: removed). Only that
    entry's lines change, so the comments around it stay; a flow-style list (``[{…}, …]``) is
    written out again as a block list."""
    root = doc.root
    kept = [_dumpable(e) for e in entries]
    if new is None:
        kept.pop(index)
    else:
        kept[index] = _dumpable(new)
    # _entries drops nothing from a valid file, so entry i is node i
    if not isinstance(root, yaml.SequenceNode) or root.flow_style:
        return yaml.safe_dump(kept, sort_keys=False, allow_unicode=True) if kept else "[]\n"
    node = root.value[index]
    lines = text.splitlines(keepends=True)
    first = node.start_mark.line
    last = node.end_mark.line if node.end_mark.column > 0 else node.end_mark.line - 1
    # blank and comment lines before the next entry belong to it, not to this one
    while last > first and (not lines[last].strip() or lines[last].lstrip().startswith("#")):
        last -= 1
    block = yaml.safe_dump([_dumpable(new)], sort_keys=False, allow_unicode=True) if new else ""
    out = "".join(lines[:first]) + block + "".join(lines[last + 1 :])
    return out if out.strip() else "[]\n"


def _write_private(path: Path, text: str) -> None:
    """Write the file, readable by its owner only when it is created here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
