"""Fuzzing the target-table loader (config/targets.py) as tests/fuzz/test_registry_fuzz.py fuzzes
the registry's: a mutated file either loads or raises :class:`TargetError` whose every problem
names the file and a line of it; never another exception, never a hang.

The registry's loader has an alias guard (a "billion laughs" file) and a size cap; these tests
hold the target loader to the same guarantees.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from config.errors import ConfigError
from config.registry import MAX_REGISTRY_FILE_BYTES
from config.targets import TargetError, TargetTable, load_targets
from tests.fuzz.support import budget

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "data" / "targets.yaml"
SHIPPED_BYTES = SHIPPED.read_bytes()
LAUGH = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n"
    % ((chr(ord("b") + i).encode(),) * 2 + (chr(ord("a") + i).encode(),) * 10)
    for i in range(8)
)  # 10⁹ x's once every alias is expanded
GUARD_S = 20.0  # the registry refuses the same file in well under a second [s]


def load_or_problems(tmp_path: Path, content: bytes) -> TargetTable | TargetError:
    """Load ``content`` as a target file; the table or the TargetError, checked for places."""
    path = tmp_path / "targets.yaml"
    path.write_bytes(content)
    try:
        return load_targets(path)
    except TargetError as exc:
        error = exc
    except ConfigError as exc:  # pragma: no cover - a failure message, not a path
        pytest.fail(f"a ConfigError that is not a TargetError has no file:line: {exc!r}")
    assert error.problems, "a TargetError without problems"
    lines = content.count(b"\n") + 1
    for problem in error.problems:
        assert problem.file == str(path)
        assert 0 <= problem.line <= lines + 1, problem
        assert problem.message
    return error


def load_in_a_child(path: Path) -> str:
    """Load ``path`` in a child process bounded by GUARD_S: a loader without the guard would
    walk every expansion for hours and keep a core busy for the rest of the session."""
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from config.targets import TargetError, load_targets\n"
        "try:\n    load_targets(Path(sys.argv[1]))\n"
        "except TargetError as exc:\n    print('TargetError:', exc)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=GUARD_S,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"load_targets({path.name}) did not finish within {GUARD_S:g} s")
    return done.stdout + done.stderr


def test_the_shipped_table_loads() -> None:
    table = load_targets(SHIPPED)
    assert "zero_carbon_park" in table.ids()


@budget(100)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(SHIPPED_BYTES)),
            st.sampled_from(["insert", "delete", "replace_line"]),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=4,
    )
)
@example(edits=[(0, "insert", "x: &a [*a]\n")])  # a recursive alias
@example(edits=[(0, "replace_line", "profiles: &a [*a]")])
@example(edits=[(0, "replace_line", "profiles: &a {id: *a}")])
@example(edits=[(0, "replace_line", "profiles: " + "[" * 3000)])  # nested too deeply
@example(edits=[(30, "insert", "\x07")])  # a control character: YAML's reader refuses it
@example(edits=[(30, "insert", "\udcce")])  # an encoded surrogate: not valid UTF-8
def test_mutated_target_text_loads_or_says_where(
    tmp_path: Path, edits: list[tuple[int, str, str]]
) -> None:
    data = bytearray(SHIPPED_BYTES)
    for where, op, text in edits:
        at = min(where, len(data))
        piece = text.encode("utf-8", errors="surrogatepass")
        if op == "insert":
            data[at:at] = piece
        elif op == "delete":
            del data[at : at + len(piece) + 1]
        else:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            data[start : end if end >= 0 else len(data)] = piece
    load_or_problems(tmp_path, bytes(data))


def test_aliases_that_expand_a_billion_times_are_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_bytes(LAUGH)
    out = load_in_a_child(path)
    assert out.startswith("TargetError:"), out[-2000:]
    assert str(path) in out


def test_a_file_above_the_size_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: costs no disk
        f.truncate(MAX_REGISTRY_FILE_BYTES + 1)
    with pytest.raises(TargetError) as caught:
        load_targets(path)
    assert [p.file for p in caught.value.problems] == [str(path)]
    assert "bytes" in str(caught.value), "refused for its size, not for what parsing found"
