"""``smartpark keys add | list | rotate | revoke`` (issue 17, item 5), through the command line,
with the API judging the tokens it prints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.auth import KeyFile, hash_token
from config.registry import load_registry
from config.settings import Settings
from smartpark.cli import main
from store.embedded import EmbeddedStore

PARK = "wuhan-demo"
TENANT = "chipcore"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "etc" / "keys.yaml"


@pytest.fixture
def api(tmp_path: Path, key_file: Path) -> Iterator[TestClient]:
    """The API on the demo registry, following ``key_file`` on every request (no 1 s wait); no
    alarm engine, whose log lines would mix with the CLI's stderr."""
    registry = load_registry(None)
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    # a city key so the file exists before the app reads it
    assert main(["keys", "add", "--role", "city", "--name", "city", "--file", str(key_file)]) == 0
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, auth_failures_per_min=0, alarms=False),
        store=store,
        registry=registry,
        auth=KeyFile(key_file, registry, check_every_s=0.0),
    )
    with TestClient(app) as client:
        yield client
    store.close()


def status(api: TestClient, token: str) -> int:
    return api.get("/api/v1/parks", headers={"Authorization": f"Bearer {token}"}).status_code


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def add(key_file: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """``keys add`` of the tenant key ``energy-manager``; returns the token it printed."""
    args = ["keys", "add", "--role", "tenant", "--park", PARK, "--tenant", TENANT]
    assert main([*args, "--name", "energy-manager", "--file", str(key_file), *extra]) == 0
    out, err = capsys.readouterr()
    assert "shown only now" in err
    return out.strip()


def test_add_list_rotate_revoke(
    api: TestClient, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    expires = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
    token = add(key_file, capsys, "--expires", expires)
    assert len(token) >= 32
    assert status(api, token) == 200

    assert main(["keys", "list", "--file", str(key_file)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "PARK", "TENANT", "CREATED", "EXPIRES"]
    assert [line.split() for line in lines[1:]] == [
        ["city", "city", "-", "-", today(), "never"],
        ["energy-manager", "tenant", PARK, TENANT, today(), expires],
    ]
    # columns line up: EXPIRES starts at the same place on every row
    columns = zip(lines, ["EXPIRES", "never", expires], strict=True)
    assert len({line.index(word) for line, word in columns}) == 1
    assert token not in out
    assert hash_token(token) not in out
    assert "sha256" not in out

    assert main(["keys", "rotate", "energy-manager", "--file", str(key_file)]) == 0
    out, err = capsys.readouterr()
    new_token = out.strip()
    assert len(out.splitlines()) == 1  # the token, once, and nothing else on stdout
    assert new_token != token
    assert "the old token no longer works" in err
    assert status(api, token) == 401
    assert status(api, new_token) == 200
    # rotation keeps role, scope and expiry
    text = key_file.read_text()
    assert f"expires: '{expires}'" in text or f"expires: {expires}" in text
    assert hash_token(new_token) in text
    assert hash_token(token) not in text

    assert main(["keys", "revoke", "energy-manager", "--file", str(key_file)]) == 0
    out, _ = capsys.readouterr()
    assert out.strip() == (
        f"revoked tenant key 'energy-manager' in {key_file}; its token no longer works"
    )
    assert status(api, new_token) == 401
    assert main(["keys", "list", "--file", str(key_file)]) == 0
    out, _ = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "city"]


@pytest.mark.parametrize("command", ["revoke", "rotate"])
def test_an_unknown_name_lists_the_known_ones(
    api: TestClient, key_file: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    add(key_file, capsys)
    before = key_file.read_text()
    assert main(["keys", command, "energy-manger", "--file", str(key_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"error: {key_file}: no key named 'energy-manger'; known: city, energy-manager"
    ]
    assert key_file.read_text() == before


def test_expires_must_be_a_day_not_yet_past(
    key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    args = ["keys", "add", "--role", "city", "--name", "c", "--file", str(key_file)]
    assert main([*args, "--expires", yesterday]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no token for a key that was not written
    assert err.splitlines() == [
        f"error: --expires {yesterday} is already past (today is {today()}, UTC)"
    ]
    assert not key_file.exists()

    with pytest.raises(SystemExit) as exited:
        main([*args, "--expires", "2027-02-30"])
    assert exited.value.code == 2
    assert "not a day (YYYY-MM-DD): '2027-02-30'" in capsys.readouterr().err
    assert not key_file.exists()

    # today is still valid: a key is good through the whole of its expiry day
    assert main([*args, "--expires", today()]) == 0
    assert capsys.readouterr().out.strip()


def test_list_marks_an_expired_key_and_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys.yaml"
    assert main(["keys", "list", "--file", str(path)]) == 0
    assert capsys.readouterr().out == f"no keys in {path}\n"
    path.write_text(
        f"- {{name: old, role: city, sha256: {'a' * 64}, created: 2024-01-01,\n"
        "   expires: 2024-12-31}\n"
    )
    assert main(["keys", "list", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == [
        "old",
        "city",
        "-",
        "-",
        "2024-01-01",
        "2024-12-31",
        "(expired)",
    ]


def test_keys_without_a_file_say_which_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "list"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: no key file: give --file or set SMARTPARK_API_KEYS"
    ]


def test_a_file_where_a_folder_should_be_is_one_line_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "etc"
    blocker.write_text("not a folder\n")
    args = ["keys", "add", "--role", "city", "--name", "c", "--file", str(blocker / "keys.yaml")]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"error: {blocker}: File exists; a file stands where a folder is needed on the path"
    ]
