"""The one YAML loader of smartpark's configuration files: registry, tables, API keys, alarm rules.

Every file a person edits goes through :func:`read_yaml` (or :func:`parse_yaml` for text in
hand), which gives all of them the same guarantees:

- a size cap, checked before the file is read (``max_bytes`` [bytes]);
- ``yaml.SafeLoader`` only (no Python objects), UTF-8 only (a bad byte is reported with its line);
- an alias guard: a recursive alias is refused, and aliases may repeat at most
  ``max_alias_nodes`` nodes in all, so a "billion laughs" file is refused in milliseconds
  instead of expanding into memory;
- every problem as a :class:`~config.errors.Problem` (file, 1-based line, message), and
  :meth:`YamlDocument.problems` that locates each pydantic validation error on its line.

Example (the pattern every loader follows)::

    from config.yamlfile import YamlFileError, read_yaml

    try:
        doc = read_yaml(path, max_bytes=1 << 20)   # YamlFileError: size, bytes, syntax, aliases
        rules = RuleFile.model_validate(doc.data)  # the loader's own pydantic model
    except YamlFileError as exc:
        raise RulesError(exc.problems) from None
    except ValidationError as exc:
        raise RulesError(doc.problems(exc)) from None  # each error at its file:line

A loader that checks more than a model does (references between entries) finds the line of any
location with :meth:`YamlDocument.line`, e.g. ``doc.line(("devices", 3, "parent"))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.errors import ConfigError, Problem

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_YAML_BYTES",
    "Loc",
    "YamlDocument",
    "YamlFileError",
    "describe_error",
    "parse_yaml",
    "read_yaml",
]

MAX_YAML_BYTES = 16 * 1024 * 1024
"""Default size cap of a configuration file [bytes]; the registry raises it for large parks."""

MAX_ALIAS_NODES = 100_000
"""Most YAML nodes that aliases (``*name``) may repeat in one file, all aliases together. A
template anchored once and aliased by 10,000 devices stays far below; a "billion laughs" file
(ten aliases of ten aliases of …) passes it within a few lines."""

Loc = tuple[str | int, ...]
"""A location in a document: the keys and list indexes from the root, as pydantic gives them."""


class YamlFileError(ConfigError):
    """A YAML file cannot be read or parsed; ``problems`` says where (file, line, message)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def describe_error(err: Mapping[str, Any]) -> str:
    """A pydantic error as ``location: message`` (the default of :meth:`YamlDocument.problems`)."""
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed file: ``data`` as ``yaml.safe_load`` gives it (None for an empty file), ``root``
    its node tree (None when empty), ``file`` the name problems carry, and the line of every
    location."""

    file: str
    data: Any
    root: yaml.Node | None
    lines: Mapping[Loc, int]

    def line(self, loc: Sequence[str | int]) -> int:
        """1-based line of ``loc``, or of its nearest enclosing location that has one."""
        loc = tuple(loc)
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(loc[:cut])
            if line is not None:
                return line
        return 1

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        """A problem at ``loc`` of this file."""
        return Problem(self.file, self.line(loc), message)

    def problems(
        self,
        exc: ValidationError,
        *,
        prefix: Loc = (),
        describe: Callable[[Mapping[str, Any]], str] = describe_error,
    ) -> list[Problem]:
        """Every error of ``exc`` as a problem on its line; ``prefix`` is where in the document
        the validated object sits (e.g. ``(3,)`` for the fourth item of a list)."""
        return [
            Problem(self.file, self.line((*prefix, *err["loc"])), describe(err))
            for err in exc.errors()
        ]


def read_yaml(
    path: Path,
    *,
    max_bytes: int = MAX_YAML_BYTES,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    allow_empty: bool = False,
    name: str | None = None,
) -> YamlDocument:
    """Read and parse the YAML file ``path``.

    Refused, as :class:`YamlFileError` with file and line: a file larger than ``max_bytes``
    [bytes] (before it is read), one that cannot be read, bytes that are not UTF-8, invalid YAML,
    nesting deeper than the parser's stack, a recursive alias or aliases repeating more than
    ``max_alias_nodes`` nodes, and (unless ``allow_empty``) an empty document. ``name`` is the
    file name problems carry (default: ``str(path)``).
    """
    where = name if name is not None else str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            message = f"file is {size:,} bytes, more than the {max_bytes:,} read"
            raise YamlFileError([Problem(where, 0, message)])
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        problem = Problem(where, 0, f"cannot read: {exc.strerror or exc}")
        raise YamlFileError([problem]) from None
    if len(raw) > max_bytes:
        message = f"file is more than the {max_bytes:,} bytes read"
        raise YamlFileError([Problem(where, 0, message)])
    return parse_yaml(raw, where, max_alias_nodes=max_alias_nodes, allow_empty=allow_empty)


def parse_yaml(
    content: bytes | str,
    file: str,
    *,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    allow_empty: bool = False,
) -> YamlDocument:
    """Parse ``content`` (UTF-8 bytes or text) as the file named ``file``: the checks of
    :func:`read_yaml` but the size cap, which is the caller's."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = content.count(b"\n", 0, exc.start) + 1
            message = f"not UTF-8: byte {content[exc.start]:#04x} ({exc.reason})"
            raise YamlFileError([Problem(file, line, message)]) from None
    else:
        text = content
    if _FAST is not None:  # libyaml: a good file parses ~3x faster; a bad one is parsed again
        try:  # by the Python loader below, so every problem reads the same either way
            return _parse(text, file, max_alias_nodes, allow_empty, _FAST)
        except (yaml.YAMLError, YamlFileError):
            pass
    return _parse(text, file, max_alias_nodes, allow_empty, yaml.SafeLoader)


_FAST: type[yaml.CSafeLoader] | None = yaml.CSafeLoader if yaml.__with_libyaml__ else None


def _parse(
    text: str,
    file: str,
    max_alias_nodes: int,
    allow_empty: bool,
    kind: type[yaml.SafeLoader] | type[yaml.CSafeLoader],
) -> YamlDocument:
    loader: yaml.SafeLoader | yaml.CSafeLoader | None = None
    try:
        loader = kind(text)  # refuses a character YAML does not allow (ReaderError)
        root = loader.get_single_node()
        lines: dict[Loc, int] = {}
        if root is not None:
            _Walk(max_alias_nodes, lines).node(root, (), root.start_mark.line + 1)
        data = loader.construct_document(root) if root is not None else None
    except RecursionError:
        raise YamlFileError([Problem(file, 1, "not valid YAML: nested too deeply")]) from None
    except _AliasProblem as exc:
        raise YamlFileError([Problem(file, exc.line, exc.message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        elif isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = 1
        if isinstance(exc, yaml.reader.ReaderError):
            message = f"not valid YAML: character U+{int(exc.character):04X} is not allowed"
        else:
            message = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
        raise YamlFileError([Problem(file, line, message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None and not allow_empty:
        raise YamlFileError([Problem(file, 1, "file is empty")])
    return YamlDocument(file=file, data=data, root=root, lines=lines)


class _AliasProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


class _Walk:
    """One pass over the node graph: the line of every location, and the alias guard.

    A node reached again through an alias is not walked again; its expanded size (counted once,
    bottom-up) is added to the budget instead, so the pass stays linear in the file however the
    aliases multiply.
    """

    def __init__(self, max_alias_nodes: int, lines: dict[Loc, int]) -> None:
        self.budget = max_alias_nodes
        self.lines = lines
        self.size: dict[int, int] = {}  # id(node) -> nodes it expands to
        self.open: set[int] = set()  # nodes being walked (an alias to one is recursive)

    def node(self, node: yaml.Node, loc: Loc, at_line: int) -> int:
        self.lines[loc] = node.start_mark.line + 1
        key = id(node)
        if key in self.open:
            raise _AliasProblem(
                at_line, "an alias refers to a node that contains it (a recursive alias)"
            )
        if key in self.size:  # an alias: its nodes count against the budget
            self.budget -= self.size[key]
            if self.budget < 0:
                raise _AliasProblem(
                    at_line,
                    "aliases (*name) repeat too many nodes: an alias bomb? "
                    "write the entries out instead",
                )
            return self.size[key]
        self.open.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode):
                    at: Loc = (*loc, key_node.value)
                else:  # a complex key (``? [a, b]``): walked for the guard only
                    total += self.node(key_node, (*loc, f"<key line {key_line}>"), key_line)
                    at = (*loc, f"<value line {key_line}>")
                total += 1 + self.node(value_node, at, key_line)
                self.lines[at] = key_line
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                # an alias node is the anchored node: its mark is the anchor's, so an alias
                # item is reported at the line of the list holding it
                fresh = id(item) not in self.size and id(item) not in self.open
                item_line = (item if fresh else node).start_mark.line + 1
                total += self.node(item, (*loc, i), item_line)
        self.open.discard(key)
        self.size[key] = total
        return total
