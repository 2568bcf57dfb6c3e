"""The one message catalogue: every text a person reads, in Chinese and English.

The catalogue is data, in ``config/messages/*.yaml``: one file per area (``reports.yaml``, the
reports' labels; ``dashboard.yaml``, the page's, keys ``ui.*``; ``vocabulary.yaml``, what the
registry, the store and the alarm engine name — device kinds, fields, units, grid regions,
alarm kinds and messages; ``reasons.yaml``, why a figure is withheld or a target cannot be
judged, keys ``reason.*``, which :func:`reason_text` finds again from the English the services
wrote; ``notes.yaml``, how an indicator or a balance figure was made, keys ``note.*``, which
:func:`note_text` finds again the same way; ``cli.yaml``, the command line). The files
together are one table: a key appears once, in one file, and every entry has both languages
(:func:`catalogue` refuses anything else, each problem at its file:line). A new area is a new
file; nothing else changes.

An entry is ``key: [Chinese, English]``, one per line. A text with a count has plural forms::

    "ui.n_devices": {zh: "{0} 台设备", en: {one: "{0} device", other: "{0} devices"}}

Placeholders are ``str.format`` fields: ``{0}``, ``{1}`` … in order (the dashboard's), or by
name, ``{n}``. The reports (``reports/i18n.py``), the API (``GET /api/v1/messages``, which the
dashboard loads), the alarm engine and the CLI all read this table.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal, TypeAlias

import yaml

from config.errors import ConfigError, Problem
from config.yamlfile import read_yaml

__all__ = [
    "CATALOGUE_DIR",
    "LANGS",
    "CatalogueError",
    "Entry",
    "Lang",
    "Text",
    "catalogue",
    "has",
    "message",
    "note_key",
    "note_parts",
    "note_text",
    "plural_form",
    "reason_key",
    "reason_text",
    "scope_name",
    "source_text",
    "template",
    "texts",
    "yaml_from_block",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
CATALOGUE_DIR = Path(__file__).with_name("messages")
PLURAL_FORMS = ("one", "other")
"""The CLDR plural categories English needs; Chinese has only ``other``."""

Text: TypeAlias = str | Mapping[str, str]
"""A text, or its plural forms by CLDR category (``one``, ``other``)."""


class CatalogueError(ConfigError):
    """The message catalogue has problems (a key twice, a language or plural form missing)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class Entry:
    """One message: its Chinese and English text, each a string or plural forms."""

    zh: Text
    en: Text

    def text(self, lang: Lang) -> Text:
        """The text in ``lang``."""
        return self.zh if lang == "zh" else self.en


def plural_form(lang: Lang, count: float) -> str:
    """The CLDR plural category of ``count`` [a number of things] in ``lang``: Chinese has one
    form (``other``); English says ``one`` for exactly 1 and ``other`` for everything else."""
    return "one" if lang == "en" and count == 1 else "other"


def _text(value: object, lang: Lang, where: str) -> tuple[Text | None, str | None]:
    if isinstance(value, str):
        return (value, None) if value or lang == "en" else (None, f"{where}: no {lang} text")
    if isinstance(value, dict):
        forms = {str(k): v for k, v in value.items()}
        wanted = ("other",) if lang == "zh" else PLURAL_FORMS
        missing = [f for f in wanted if not isinstance(forms.get(f), str) or not forms[f]]
        extra = sorted(set(forms) - set(PLURAL_FORMS))
        if missing or extra:
            return None, f"{where}: {lang} plural forms must be {', '.join(wanted)}"
        return {k: str(v) for k, v in forms.items()}, None
    return None, f"{where}: the {lang} text must be a string or plural forms"


def _entry(key: str, value: object) -> tuple[Entry | None, str | None]:
    if isinstance(value, list) and len(value) == 2:
        zh_value, en_value = value
    elif isinstance(value, dict) and set(value) == set(LANGS):
        zh_value, en_value = value["zh"], value["en"]
    else:
        return None, f"{key}: an entry is [Chinese, English] or {{zh: …, en: …}}"
    zh, zh_problem = _text(zh_value, "zh", key)
    en, en_problem = _text(en_value, "en", key)
    if zh is None or en is None:
        return None, zh_problem or en_problem
    return Entry(zh, en), None


def _key_lines(root: yaml.Node | None) -> list[tuple[str, int]]:
    if not isinstance(root, yaml.MappingNode):
        return []
    return [(str(k.value), k.start_mark.line + 1) for k, _ in root.value]


def load_catalogue(folder: Path) -> dict[str, Entry]:
    """Every entry of every ``*.yaml`` file of ``folder``, checked: each key once in all the
    files, each entry with a Chinese and an English text (an English text may be empty: a page
    suffix reads "" in English). Raises :class:`CatalogueError` listing every problem."""
    entries: dict[str, Entry] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CatalogueError([Problem(str(folder), 1, "no message file (*.yaml) here")])
    for path in files:
        doc = read_yaml(path, max_bytes=1 << 20, allow_empty=True)
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(doc.file, 1, "a message file is a mapping: key: [zh, en]"))
            continue
        for key, line in _key_lines(doc.root):
            if key in where:
                problems.append(Problem(doc.file, line, f"{key}: already in {where[key]}"))
                continue
            where[key] = f"{doc.file}:{line}"
            entry, problem = _entry(key, doc.data[key])
            if entry is None:
                problems.append(Problem(doc.file, line, problem or key))
            else:
                entries[key] = entry
    if problems:
        raise CatalogueError(problems)
    return entries


@cache
def catalogue() -> Mapping[str, Entry]:
    """The shipped catalogue (``config/messages/*.yaml``), read once."""
    return load_catalogue(CATALOGUE_DIR)


def has(key: str) -> bool:
    """Whether the catalogue has ``key``."""
    return key in catalogue()


def template(key: str, lang: Lang, count: float | None = None) -> str:
    """The unformatted text of ``key`` in ``lang`` (the plural form for ``count`` when it has
    forms; ``other`` without a count); the key itself when the catalogue does not know it."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.text(lang)
    if isinstance(text, str):
        return text
    form = plural_form(lang, count) if count is not None else "other"
    return text.get(form, text["other"])


def message(key: str, lang: Lang, *args: object, **kwargs: object) -> str:
    """The text of ``key`` in ``lang`` with its placeholders filled: ``{0}`` … from ``args``,
    ``{name}`` from ``kwargs``. A text with plural forms takes its form from ``count=`` or, else,
    from the first argument."""
    count = kwargs.get("count", args[0] if args else None)
    number = count if isinstance(count, int | float) and not isinstance(count, bool) else None
    text = template(key, lang, number)
    return text.format(*args, **kwargs) if args or kwargs else text


def texts(lang: Lang, prefixes: tuple[str, ...] = ()) -> dict[str, Text]:
    """Every text in ``lang`` by key (only keys starting with one of ``prefixes``, if given):
    what ``GET /api/v1/messages`` sends the dashboard."""
    return {
        k: e.text(lang) for k, e in catalogue().items() if not prefixes or k.startswith(prefixes)
    }


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NESTED = {
    "reason": "reason.",
    "rule": "reason.",
    "method": "reason.",
    "elec": "note.elec.",
    "pv": "note.pv.",
    "p0": "note.p0.",
    "demand": "note.demand.",
}
"""Placeholders that hold another catalogued text, and the keys the entries wording it start
with: a ``reason.*`` text holds a reason, a rule or a method (``reason.*``); a ``note.*`` text
also those, and parts of notes (``note.elec.*`` …)."""
_ZH_TEXT = re.compile(r"[\u3001-\u303f\u4e00-\u9fff\[\]0-9]+")
"""What a ``{…_zh}`` placeholder holds: Chinese as written (a document number such as
``发改办价格[2016]1583号``, a Chinese name), no Latin letter, space or punctuation of its own."""
_ITEM_PREFIXES = ("", "target.", "declared.", "factor.", "field.")
"""Where the label of an ``{item}`` is looked for: an indicator's key is its own label key."""
_METHOD_SUFFIXES = ("_calorific_value", "_coal_equivalent")


@cache
def _patterns(prefix: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every entry whose key starts with ``prefix`` (``reason.``, ``note.``, ``note.elec.`` …)
    with a pattern of its English text, the most literal first (so ``no {flow} data in this
    period`` is tried before ``no {flow} data in {months}``)."""
    found: list[tuple[int, str, re.Pattern[str]]] = []
    for key, entry in catalogue().items():
        if not key.startswith(prefix) or not isinstance(entry.en, str):
            continue
        parts = _PLACEHOLDER.split(entry.en)
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)
        )
        literal = sum(len(p) for p in parts[::2])
        found.append((literal, key, re.compile(regex + r"\Z", re.DOTALL)))
    found.sort(key=lambda f: -f[0])
    return tuple((key, pattern) for _, key, pattern in found)


@cache
def _by_english(prefix: str) -> Mapping[str, str]:
    """The keys starting with ``prefix`` by their English text."""
    return {
        e.en: k
        for k, e in catalogue().items()
        if k.startswith(prefix) and isinstance(e.en, str) and not _PLACEHOLDER.search(e.en)
    }


def _label(name: str, lang: Lang) -> str | None:
    """An indicator, target, declared input or factor by its key, as its label; a key with a
    method suffix (``tco2_per_tce_coal_equivalent``) as its indicator's label and the method."""
    for prefix in _ITEM_PREFIXES:
        if prefix + name in catalogue():
            return template(prefix + name, lang)
    for suffix in _METHOD_SUFFIXES:
        if name.endswith(suffix):
            base = _label(name.removesuffix(suffix), lang)
            method = template(f"reason.method{suffix.replace('_', '.', 1)}", lang)
            return None if base is None else f"{base} ({method})"
    return None


def scope_name(text: str, lang: Lang) -> str | None:
    """A scope as ``services.energy.Scope`` prints it (``park``, ``tenant:t01`` …) in words;
    None for a text that is not a scope."""
    if text == "park":
        return template("scope.park", lang)
    kind, _, ident = text.partition(":")
    key = f"scope.{kind}"
    return message(key, lang, id=ident) if ident and key in catalogue() else None


def _method_label(text: str, lang: Lang) -> str | None:
    """An electricity method as the services write it in both languages (``calorific value
    (GB/T 2589-2020) (当量值 (GB/T 2589-2020))``): in Chinese its Chinese name, in English as
    written; None when it is no ``reason.method.*`` entry's two names."""
    for key, entry in catalogue().items():
        if key.startswith("reason.method.") and text == f"{entry.en} ({entry.zh})":
            return str(entry.zh) if lang == "zh" else text
    return None


def _param(name: str, value: str, lang: Lang) -> str | None:
    """The value of placeholder ``name`` in ``lang``; None when it is not what the name says."""
    nested = _NESTED.get(name)
    if nested is not None:
        return _part(value, lang, nested)
    if name == "flow":
        key = _by_english("flow.").get(value)
        return template(key, lang) if key is not None else None
    if name == "scope":
        return scope_name(value, lang)
    if name in ("item", "items"):
        labels = [_label(v, lang) for v in value.split(", ")]
        if any(label is None for label in labels):
            return None
        return ("、" if lang == "zh" else ", ").join(str(label) for label in labels)
    if name == "method_label":
        return _method_label(value, lang)
    if name.endswith("_zh"):
        return value if _ZH_TEXT.fullmatch(value) else None
    # a value as written never spans two parts of a text joined by "; "
    return value if "; " not in value else None


def _key(text: str, prefix: str) -> tuple[str, dict[str, str]] | None:
    """The key (starting with ``prefix``) and the placeholder values (as written) of the entry
    whose English ``text`` is; None when no entry words it."""
    for key, pattern in _patterns(prefix):
        m = pattern.match(text)
        if m is not None and all(_param(n, v, "en") is not None for n, v in m.groupdict().items()):
            return key, m.groupdict()
    return None


def _part(text: str, lang: Lang, prefix: str) -> str | None:
    """``text`` (one entry's English, starting with ``prefix``) in ``lang``; None when no entry
    words it."""
    found = _key(text, prefix)
    return None if found is None else _worded(*found, lang)


def _worded(key: str, values: Mapping[str, str], lang: Lang) -> str:
    """The text of ``key`` in ``lang`` with the placeholder ``values`` (as written) in it."""
    shown = {n: _param(n, v, lang) or v for n, v in values.items()}
    return template(key, lang).format(**shown)


def _joined(parts: list[str], lang: Lang) -> str:
    return ("；" if lang == "zh" else "; ").join(parts)  # noqa: RUF001


def reason_key(text: str) -> tuple[str, dict[str, str]] | None:
    """The ``reason.*`` key and the placeholder values (as written) of one English reason, the
    way the services write it; None when no entry words it."""
    return _key(text, "reason.")


def reason_text(reason: str | None, lang: Lang) -> str | None:
    """A reason the services gave (English, several joined by ``"; "``) in ``lang``, from the
    catalogue's ``reason.*`` entries, with indicators, flows and scopes by their labels instead
    of their keys. A reason no entry words is returned as it is (the zh render test fails on
    it, so a new reason in the services needs its entry in ``config/messages/reasons.yaml``)."""
    if reason is None:
        return None
    parts = reason.split("; ")
    return _joined([_part(p, lang, "reason.") or p for p in parts], lang)


def note_key(text: str) -> tuple[str, dict[str, str]] | None:
    """The ``note.*`` key and the placeholder values (as written) of one part of a note, the way
    the services write it; None when no entry words it."""
    return _key(text, "note.")


def note_parts(note: str) -> list[tuple[str, tuple[str, dict[str, str]] | None]]:
    """The parts of a note the services wrote (English, entries joined by ``"; "``), each with
    its ``note.*`` key and placeholder values (None: no entry words it). An entry may hold
    ``"; "`` itself, so each part is the longest run of ``"; "``-separated pieces one entry
    words; a piece no entry words is a part of its own."""
    pieces = note.split("; ")
    out: list[tuple[str, tuple[str, dict[str, str]] | None]] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):
            text = "; ".join(pieces[i:j])
            found = note_key(text)
            if found is not None:
                out.append((text, found))
                i = j
                break
        else:
            out.append((pieces[i], None))
            i += 1
    return out


@lru_cache(maxsize=4096)
def _note_text(note: str, lang: Lang) -> str:
    parts = note_parts(note)
    return _joined(
        [text if found is None else _worded(*found, lang) for text, found in parts], lang
    )


def note_text(note: str | None, lang: Lang) -> str | None:
    """A note the services wrote on an indicator or a figure (how it was made: English, several
    parts joined by ``"; "``) in ``lang``, from the catalogue's ``note.*`` entries
    (``config/messages/notes.yaml``), flows, scopes, rules and methods in words. A part no entry
    words is returned as it is (``tests/config/test_notes.py`` fails on every note the services
    write that has one)."""
    return None if note is None else _note_text(note, lang)


def source_text(source: str | None, lang: Lang) -> str | None:
    """The source of a threshold or factor as the data files write it (English, for the ones
    shipped) in ``lang``: the ``source.*`` entry whose English it is, else the text as written
    (a park's own sources are its own words)."""
    if source is None:
        return None
    key = _by_english("source.").get(source)
    return template(key, lang) if key is not None else source


_JS_KEY = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):", re.MULTILINE)


def yaml_from_block(source: str, prefix: str = "") -> str:
    """Catalogue lines (``"key": [zh, en]``, one a line) from a block of entries written the old
    way: as ``reports/i18n.py`` had them (``"key": ("中文", "English"),``, a text split over
    lines allowed) or, with ``prefix="ui."``, as ``api/static/js/i18n.js`` had them (``key:
    ["中文", "English"],``). Comments are dropped. What moves a block added to either file on
    another branch into ``config/messages/<block>.yaml`` without retyping it::

        python -m config.messages < block.py > config/messages/city.yaml
        python -m config.messages --ui < block.js > config/messages/city-page.yaml
    """
    text = source
    if prefix:
        text = re.sub(r"//[^\n]*", "", text)
        text = _JS_KEY.sub(lambda m: f'{m.group(1)}"{prefix}{m.group(2)}":', text)
    entries = ast.literal_eval("{" + text + "}")
    if not isinstance(entries, dict):
        raise ValueError("not a block of key: (zh, en) entries")
    lines = []
    for key, pair in entries.items():
        zh, en = pair
        q = [json.dumps(str(x), ensure_ascii=False) for x in (key, zh, en)]
        lines.append(f"{q[0]}: [{q[1]}, {q[2]}]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - the one-off move of a block, see yaml_from_block
    sys.stdout.write(yaml_from_block(sys.stdin.read(), "ui." if "--ui" in sys.argv else ""))
