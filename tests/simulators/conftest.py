"""Simulated stores with retrofits applied, shared by the retrofit and baseline tests: the
simulator writes a run's readings through the collector's decoder into an embedded store and
its ground truth (what each retrofit saved) into a truth file."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from config.registry import load_registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from simulators.park import ParkModel
from simulators.retrofit import parse_retrofit
from simulators.truth import TruthWriter
from store import EmbeddedStore

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
ZONE = ZoneInfo("Asia/Shanghai")
STEP_S = 900
RETROFIT = "chipcore:2025-01-15:0.85"
HVAC_RETROFIT = "t01:2025-01-15:hvac=0.4"
"""A fab on Tower A's first floor (270 kW peak, HVAC round the clock) gets its HVAC load cut
60 % — a heat pump for resistive heating — from 15 January 2025."""


def _midnight_ns(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=ZONE).timestamp()) * 10**9


def simulate_into_store(
    folder: Path,
    *,
    retrofits: list[str],
    start: date,
    end: date,
    seed: int,
    devices: Collection[str] | None = None,
) -> tuple[EmbeddedStore, Path]:
    """The demo park from local ``start`` to ``end`` (excluded), 15-minute ticks, with
    ``retrofits`` applied; the readings of ``devices`` (None: all) through the decoder into an
    embedded store in ``folder``, the whole truth into ``folder/truth.csv``."""
    store = EmbeddedStore(folder / "store.sqlite3")
    model = ParkModel(PARK, seed=seed, retrofits=[parse_retrofit(r) for r in retrofits])
    decoder = Decoder(REGISTRY, topic_template=DEFAULT_TOPIC_TEMPLATE)
    truth_path = folder / "truth.csv"
    batch = []
    with TruthWriter(truth_path, model) as truth:
        step_ns = STEP_S * 10**9
        for t in range(_midnight_ns(start) + step_ns, _midnight_ns(end) + 1, step_ns):
            tick = model.advance(t, STEP_S)
            truth.write_tick(tick)
            for reading in tick.readings():
                if devices is not None and reading.device not in devices:
                    continue
                topic = f"parks/{PARK.id}/devices/{reading.device}/telemetry"
                decoded = decoder.decode(topic, orjson.dumps(reading.payload()), t)
                batch.extend(decoded.points)
    store.write(batch)
    return store, truth_path


@pytest.fixture(scope="module")
def retrofit_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedStore, Path]]:
    """The demo park's 1–28 January 2025 with chipcore's load cut 15 % from the 15th: every
    device in the store, and the truth file of the run."""
    store, truth = simulate_into_store(
        tmp_path_factory.mktemp("retrofit"),
        retrofits=[RETROFIT],
        start=date(2025, 1, 1),
        end=date(2025, 1, 29),
        seed=7,
    )
    yield store, truth
    store.close()


@pytest.fixture(scope="module")
def hvac_retrofit_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedStore, Path]]:
    """The demo park from 1 December 2024 to 27 January 2025 with t01's HVAC cut 60 % from
    15 January: only t01's meter and the outdoor sensor in the store (all a baseline of t01
    reads, and a third of the time to write), the whole truth in the file. It stops before the
    Spring Festival (28 January), whose holidays the day types do not tell from weekends."""
    store, truth = simulate_into_store(
        tmp_path_factory.mktemp("hvac-retrofit"),
        retrofits=[HVAC_RETROFIT],
        start=date(2024, 12, 1),
        end=date(2025, 1, 28),
        seed=7,
        devices={"tower-a-f01", "env-outdoor"},
    )
    yield store, truth
    store.close()
