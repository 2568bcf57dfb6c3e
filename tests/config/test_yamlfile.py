"""The one YAML loader (config/yamlfile.py) and the four loaders built on it: every one refuses an
alias bomb, an oversize file and bad YAML, each with file and line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from config.auth import KeysError, load_api_keys
from config.errors import ConfigError, Problem
from config.factors import FactorError, load_factor_table, load_tou_tariffs
from config.registry import RegistryError, load_registry
from config.targets import TargetError, load_targets
from config.yamlfile import (
    MAX_ALIAS_NODES,
    YamlFileError,
    parse_yaml,
    read_yaml,
)

# ten aliases of ten aliases … eight levels deep: 10^9 nodes once expanded, 9 lines as text
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


def _problems(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        call()
    problems = caught.value.problems  # type: ignore[attr-defined]
    assert problems, caught.value
    return problems


# Each loader: (the loader on a path, the error it raises)
LOADERS: dict[str, tuple[Callable[..., object], type[ConfigError]]] = {
    "registry": (load_registry, RegistryError),
    "targets": (lambda path, **_: load_targets(path), TargetError),
    "factors": (lambda path, **_: load_factor_table(path), FactorError),
    "tariffs": (lambda path, **_: load_tou_tariffs(path), FactorError),
    "api keys": (lambda path, **kw: load_api_keys(path, load_registry(), **kw), KeysError),
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_loader_refuses_an_alias_bomb_quickly_with_its_line(tmp_path: Path, loader: str):
    load, error = LOADERS[loader]
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        load(path)
    assert time.perf_counter() - start < 2.0
    (problem,) = caught.value.problems  # type: ignore[attr-defined]
    # level e (line 5) repeats 111,110 nodes through its aliases: the first over the budget
    assert (problem.file, problem.line) == (str(path), 5)
    assert "aliases (*name) repeat too many nodes" in problem.message


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_loader_refuses_a_recursive_alias(tmp_path: Path, loader: str):
    load, error = LOADERS[loader]
    path = tmp_path / "loop.yaml"
    path.write_text("first: 1\nloop: &a {x: [*a]}\n", encoding="utf-8")
    with pytest.raises(error) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [  # type: ignore[attr-defined]
        f"{path}:2: an alias refers to a node that contains it (a recursive alias)"
    ]


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_loader_says_where_the_yaml_is_broken(tmp_path: Path, loader: str):
    load, error = LOADERS[loader]
    path = tmp_path / "broken.yaml"
    path.write_text("table: x\nentries:\n  - key: a\n key2: b\n  - key: c\n", encoding="utf-8")
    with pytest.raises(error) as caught:
        load(path)
    (problem,) = caught.value.problems  # type: ignore[attr-defined]
    assert (problem.file, problem.line) == (str(path), 4)
    assert problem.message.startswith("not valid YAML: ")


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_loader_names_a_byte_that_is_not_utf8(tmp_path: Path, loader: str):
    load, error = LOADERS[loader]
    path = tmp_path / "gbk.yaml"
    path.write_bytes(b"table: x\n" + "名称: 光谷\n".encode("gbk"))
    with pytest.raises(error) as caught:
        load(path)
    (problem,) = caught.value.problems  # type: ignore[attr-defined]
    assert (problem.line, problem.message) == (
        2,
        "not UTF-8: byte 0xc3 (invalid continuation byte)",
    )


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n", encoding="utf-8")
    with pytest.raises(YamlFileError) as caught:
        read_yaml(path, max_bytes=50)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:0: file is 104 bytes, more than the 50 read"
    ]
    assert read_yaml(path, max_bytes=104).data == {"a": "x" * 100}


@pytest.mark.parametrize("loader", ["registry", "api keys"])
def test_loaders_with_a_size_keyword_refuse_an_oversize_file(tmp_path: Path, loader: str):
    load, error = LOADERS[loader]
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 200 + "\n", encoding="utf-8")
    with pytest.raises(error, match="file is 203 bytes, more than the 100 read"):
        load(path, max_file_bytes=100)


@pytest.mark.parametrize("loader", ["targets", "factors", "tariffs"])
def test_the_table_loaders_cap_their_files(
    tmp_path: Path, loader: str, monkeypatch: pytest.MonkeyPatch
):
    import config.factors

    load, error = LOADERS[loader]
    monkeypatch.setattr(config.factors, "MAX_TABLE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 200 + "\n", encoding="utf-8")
    with pytest.raises(error, match="file is 203 bytes, more than the 100 read"):
        load(path)


def test_aliases_within_the_budget_load_as_references():
    doc = parse_yaml("unit: &u {power: W}\nmeters: [*u, *u, *u]\n", "f.yaml")
    assert doc.data["meters"] == [{"power": "W"}] * 3
    assert doc.line(("meters", 2)) == 1  # an alias sits where its anchor is


def test_the_alias_budget_counts_every_repeated_node():
    text = "t: &t [1, 2, 3, 4]\nuse: [*t, *t]\n"  # each alias repeats 5 nodes (the list + 4)
    assert parse_yaml(text, "f.yaml", max_alias_nodes=10).data["use"] == [[1, 2, 3, 4]] * 2
    with pytest.raises(YamlFileError, match=r"f\.yaml:2: aliases"):
        parse_yaml(text, "f.yaml", max_alias_nodes=9)
    assert MAX_ALIAS_NODES == 100_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "f.yaml:1: file is empty"),
        ("# only a comment\n", "f.yaml:1: file is empty"),
        ("a: 1\nb: \x07\n", "f.yaml:2: not valid YAML: character U+0007 is not allowed"),
        ("a: [" * 2000 + "]" * 2000, "f.yaml:1: not valid YAML: nested too deeply"),
        ("a: !!python/object:os.system ls\n", "f.yaml:1: not valid YAML: could not determine"),
    ],
)
def test_parse_problems(text: str, expected: str):
    with pytest.raises(YamlFileError) as caught:
        parse_yaml(text, "f.yaml")
    assert str(caught.value).startswith(expected)


def test_an_empty_file_may_be_allowed():
    doc = parse_yaml("# no keys yet\n", "keys.yaml", allow_empty=True)
    assert (doc.data, doc.root) == (None, None)


class _Meter(BaseModel):
    id: str
    multiplier: float


class _Park(BaseModel):
    name: str
    meters: list[_Meter]


def test_validation_errors_are_located_on_their_lines():
    text = "name: P\nmeters:\n  - id: m1\n    multiplier: 1\n  - id: m2\n    multiplier: lots\n"
    doc = parse_yaml(text, "park.yaml")
    with pytest.raises(ValidationError) as caught:
        _Park.model_validate(doc.data)
    assert [str(p) for p in doc.problems(caught.value)] == [
        "park.yaml:6: meters.1.multiplier: Input should be a valid number, "
        "unable to parse string as a number"
    ]
    with pytest.raises(ValidationError) as missing:
        _Meter.model_validate(doc.data["meters"][0] | {"multiplier": None})
    assert [p.line for p in doc.problems(missing.value, prefix=("meters", 0))] == [4]


def test_a_loader_error_is_a_config_error_with_problems(tmp_path: Path):
    problems = _problems(lambda: load_targets(tmp_path / "missing.yaml"))
    assert problems[0].line == 0
    assert problems[0].message.startswith("cannot read: ")
