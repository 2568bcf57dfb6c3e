"""Fuzzing the registry loader with mutated copies of the demo park.

A mutated file either loads or raises :class:`RegistryError` whose every problem names the file and
a line of it; never another exception, never a problem without a place.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from config.errors import ConfigError, RegistryError
from config.registry import Registry, demo_registry_path, load_registry
from tests.fuzz.support import budget

DEMO_TEXT = demo_registry_path().read_text(encoding="utf-8")
DEMO: dict[str, Any] = yaml.safe_load(DEMO_TEXT)


def load_or_problems(tmp_path: Path, name: str, content: bytes) -> Registry | RegistryError:
    """Load ``content`` as one registry file; the loaded registry or the RegistryError."""
    path = tmp_path / name
    path.write_bytes(content)
    try:
        return load_registry(path)
    except RegistryError as exc:
        error = exc
    except ConfigError as exc:  # pragma: no cover - the loader raises RegistryError today
        pytest.fail(f"a ConfigError that is not a RegistryError has no file:line: {exc!r}")
    assert error.problems, "a RegistryError without problems"
    lines = content.count(b"\n") + 1
    for problem in error.problems:
        assert problem.file == str(path)
        assert 1 <= problem.line <= lines + 1, problem
        assert problem.message
        assert str(problem).startswith(f"{path}:{problem.line}: ")
    return error


# --- mutations of the parsed document -----------------------------------------------------------

wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        ["", "ünïcødé-id", "电表-1", "a" * 65, "UPPER", "-lead", "x\ny", "Asia/Nowhere", "../etc"]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

unicode_ids = st.text(min_size=1, max_size=70)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location of the document (keys and indexes from the root)."""
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*at, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*at, i)))
    return out


_ALL_PATHS = _paths(DEMO)[1:]
_ID_PATHS = [p for p in _ALL_PATHS if p and p[-1] == "id"]


def _get(doc: Any, at: tuple[Any, ...]) -> Any:
    for k in at:
        doc = doc[k]
    return doc


def _parent(doc: Any, at: tuple[Any, ...]) -> tuple[Any, Any] | None:
    try:
        parent = _get(doc, at[:-1])
        _ = parent[at[-1]]
    except (KeyError, IndexError, TypeError):
        return None  # an earlier mutation removed or replaced it
    return parent, at[-1]


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(DEMO)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "retype", "duplicate", "unicode_id", "swap_id"]))
        if op in ("unicode_id", "swap_id"):
            at = draw(st.sampled_from(_ID_PATHS))
        else:
            at = draw(st.sampled_from(_ALL_PATHS))
        found = _parent(doc, at)
        if found is None:
            continue
        parent, key = found
        if op == "delete":
            del parent[key]
        elif op == "retype":
            parent[key] = draw(wrong_values)
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(draw(st.integers(0, len(parent))), copy.deepcopy(parent[key]))
        elif op == "duplicate" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = copy.deepcopy(parent[key])
        elif op == "unicode_id":
            parent[key] = draw(unicode_ids)
        elif op == "swap_id":  # another entry's id: a duplicate, or a dangling reference
            parent[key] = _get(DEMO, draw(st.sampled_from(_ID_PATHS)))
    if draw(st.integers(0, 9)) == 0:
        doc = draw(st.sampled_from([[doc], "park", 42, None, {"park": doc}]))
    return doc


def _dump(doc: Any, flow: bool) -> bytes:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=flow)
    return text.encode("utf-8")


@budget(150)
@given(doc=mutated_documents(), flow=st.booleans())
def test_mutated_registry_loads_or_says_where(tmp_path: Path, doc: Any, flow: bool) -> None:
    load_or_problems(tmp_path, "park.yaml", _dump(doc, flow))


# --- mutations of the text ----------------------------------------------------------------------

_DEMO_BYTES = DEMO_TEXT.encode("utf-8")


@st.composite
def mutated_texts(draw: st.DrawFn) -> bytes:
    data = bytearray(_DEMO_BYTES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace_line", "dup_line"]))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(max_size=6),
                    st.sampled_from(
                        [
                            b":",
                            b"- ",
                            b"&a ",
                            b"*a",
                            b"!!python/object:os.system ",
                            b"\t",
                            b"{",
                            b"\xff\xfe",
                            b"\x00",
                            b"\x1b",
                            b"\xe7\x94\xb5",
                        ]
                    ),
                    st.text(max_size=6).map(lambda t: t.encode("utf-8")),
                )
            )
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(i, lines[i])
            else:
                lines[i] = draw(st.text(max_size=30)).encode("utf-8", errors="surrogatepass")
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@budget(150)
@given(content=mutated_texts())
@example(content=_DEMO_BYTES.replace(b"Optics Valley", "光谷".encode("gbk")))  # not UTF-8
@example(content=_DEMO_BYTES.replace(b"Optics Valley", b"Optics\x07Valley"))  # control char
@example(content=b"park: &a [*a]\n")  # a recursive alias
@example(content=b"park: &a {id: *a}\n")
def test_mutated_registry_text_loads_or_says_where(tmp_path: Path, content: bytes) -> None:
    load_or_problems(tmp_path, "park.yaml", content)


_LAUGH = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n"
    % ((chr(ord("b") + i).encode(),) * 2 + (chr(ord("a") + i).encode(),) * 10)
    for i in range(8)
)


def test_aliases_that_expand_a_billion_times_are_refused_quickly(tmp_path: Path) -> None:
    """Found by the text fuzzer (an alias to a sequence of aliases): the line index walked
    every expansion of every alias, forever on a "billion laughs" file."""
    got = load_or_problems(tmp_path, "laughs.yaml", _LAUGH)
    assert isinstance(got, RegistryError)


@pytest.mark.parametrize("name", ["a.yaml", "b.yml"])
def test_a_folder_with_one_broken_file_names_that_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-demo.yaml").write_text(DEMO_TEXT, encoding="utf-8")
    (tmp_path / name).write_bytes("park: {id: 电表}\n".encode("gbk"))
    with pytest.raises(RegistryError) as caught:
        load_registry(tmp_path)
    assert [p.file for p in caught.value.problems] == [str(tmp_path / name)]


def test_nesting_deeper_than_the_stack_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    got = load_or_problems(tmp_path, "deep.yaml", b"park: " + b"[" * 5000 + b"]" * 5000 + b"\n")
    assert isinstance(got, RegistryError)
    assert "nested too deeply" in str(got)
