"""The payload corpus in tests/data/payloads.yaml, with NOW/ISO placeholders filled in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import yaml

CORPUS = Path(__file__).parent.parent / "data" / "payloads.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    topic: str
    payload: bytes
    stored: int
    reasons: list[str]
    via_broker: bool = True


def load_cases(now_ms: int) -> list[Case]:
    iso = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(timezone(timedelta(hours=8)))
    cases = []
    for raw in yaml.safe_load(CORPUS.read_text()):
        text = (
            raw["payload"]
            .replace("NOW_MINUS_2", str(now_ms - 2000))
            .replace("NOW_MINUS_1", str(now_ms - 1000))
            .replace("NOW", str(now_ms))
            .replace("ISO", iso.isoformat())
        )
        cases.append(
            Case(
                raw["name"],
                raw["topic"],
                text.encode(),
                raw["stored"],
                raw["reasons"],
                raw.get("via_broker", True),
            )
        )
    return cases
