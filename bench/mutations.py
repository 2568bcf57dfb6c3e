"""A mutation check by hand: does a deliberate bug in analytics/ or ingest/decode.py fail a test?

    .venv/bin/python -m bench.mutations [--only NAME ...] [--markdown]

Each mutation replaces one exact piece of source (which must occur once) in a temporary copy of
the tree, runs the tests named for it there (``pytest -x``), and restores the file. The table says
which test caught the mutation, or SURVIVED. A survivor is a hole in the tests: add a test that
kills it (issue 16; the current table is in docs/testing.md). The unmutated tree is run first: a
test set that fails without a mutation would catch everything and prove nothing.

Every pytest run is bounded (``--timeout``); the copy is deleted on the way out.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._procs import exit_on_sigterm

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600  # one pytest run, a hung mutant included [s]

ANALYTICS_TESTS = ("tests/analytics",)
DECODE_TESTS = (
    "tests/ingest/test_decode.py",
    "tests/ingest/test_decode_limits.py",
    "tests/fuzz/test_decode_fuzz.py",
)


@dataclass(frozen=True)
class Mutation:
    name: str  # what the mutation does, for the table
    path: str  # file, relative to the tree
    old: str  # exact source, found exactly once
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    # analytics/microgrid.py
    Mutation(
        "self-consumption: drop the max(pv - export, 0) clamp",
        "analytics/microgrid.py",
        "max(pv_generation_kwh - pv_export_kwh, 0.0)",
        "(pv_generation_kwh - pv_export_kwh)",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "ratio: zero-denominator guard den > 0 -> den >= 0",
        "analytics/microgrid.py",
        'return float(num) / float(den) if den > 0 else float("nan")',
        'return float(num) / float(den) if den >= 0 else float("nan")',
        ANALYTICS_TESTS,
    ),
    Mutation(
        "peak demand: 3600 s per hour -> 60",
        "analytics/microgrid.py",
        "return float(np.nanmax(e)) / (interval_s / _S_PER_H)",
        "return float(np.nanmax(e)) / (interval_s / 60.0)",
        ANALYTICS_TESTS,
    ),
    # analytics/energy.py
    Mutation(
        "balance: battery charge added to load instead of subtracted",
        "analytics/energy.py",
        "load_kwh=imp - exp + pv + dis - ch,",
        "load_kwh=imp - exp + pv + dis + ch,",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "balance: drop the PV self-consumption floor",
        "analytics/energy.py",
        "pv_self_consumed_kwh=np.maximum(pv - exp, 0.0),",
        "pv_self_consumed_kwh=pv - exp,",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "balance: PV exported not capped at PV",
        "analytics/energy.py",
        "pv_exported_kwh=np.minimum(exp, pv),",
        "pv_exported_kwh=exp.copy(),",
        ANALYTICS_TESTS,
    ),
    # analytics/carbon.py
    Mutation(
        "market-based scope 2: green instruments not capped at consumption",
        "analytics/carbon.py",
        "green = min(grid_import_kwh, instruments)",
        "green = instruments",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "market-based scope 2: remove the negative-import guard",
        "analytics/carbon.py",
        "if gec_count < 0 or green_contract_kwh < 0 or grid_import_kwh < 0:",
        "if gec_count < 0 or green_contract_kwh < 0:",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "renewable share: drop the 1.0 cap",
        "analytics/carbon.py",
        "return min(share, 1.0) if not np.isnan(share) else share",
        "return share",
        ANALYTICS_TESTS,
    ),
    # analytics/projection.py
    Mutation(
        "projection: elapsed share allowed up to 1.5",
        "analytics/projection.py",
        "if not np.all((e >= 0.0) & (e <= 1.0)):",
        "if not np.all((e >= 0.0) & (e <= 1.5)):",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "projection: drop the small-sample variance correction",
        "analytics/projection.py",
        "var = float(np.sum(w * (r - mean) ** 2) / w.sum()) * k_eff / (k_eff - 1.0)",
        "var = float(np.sum(w * (r - mean) ** 2) / w.sum())",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "projection: correlation from one period (< 2 -> < 1)",
        "analytics/projection.py",
        "if np.count_nonzero(ok) < 2:",
        "if np.count_nonzero(ok) < 1:",
        ANALYTICS_TESTS,
    ),
    # analytics/tariff.py
    Mutation(
        "TOU table: hour 24 -> 25 accepted",
        "analytics/tariff.py",
        "if not 0 <= start < end <= 24:",
        "if not 0 <= start < end <= 25:",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "TOU table: overlap check misses period 0 (>= 0 -> > 0)",
        "analytics/tariff.py",
        "if np.any(table[start:end] >= 0):",
        "if np.any(table[start:end] > 0):",
        ANALYTICS_TESTS,
    ),
    # analytics/calendar.py
    Mutation(
        "local hour: 3600 -> 3601 s",
        "analytics/calendar.py",
        "hour = (local_s % _S_PER_DAY) // 3600",
        "hour = (local_s % _S_PER_DAY) // 3601",
        ANALYTICS_TESTS,
    ),
    # analytics/intervals.py
    Mutation(
        "intervals: negative register readings accepted",
        "analytics/intervals.py",
        "plausible = finite & (v_in >= 0)",
        "plausible = finite",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "intervals: gap test > -> >=",
        "analytics/intervals.py",
        "gap = dt_ns > gap_ns",
        "gap = dt_ns >= gap_ns",
        ANALYTICS_TESTS,
    ),
    Mutation(
        "intervals: remove the interval_s > 0 guard",
        "analytics/intervals.py",
        "if interval_s <= 0:",
        "if interval_s < 0:",
        ANALYTICS_TESTS,
    ),
    # ingest/decode.py
    Mutation(
        "decode: topic length limit > -> >=",
        "ingest/decode.py",
        "if topic_bytes > self.max_topic_bytes:",
        "if topic_bytes >= self.max_topic_bytes:",
        DECODE_TESTS,
    ),
    Mutation(
        "decode: payload size limit > -> >=",
        "ingest/decode.py",
        "if len(payload) > self.max_payload_bytes:",
        "if len(payload) >= self.max_payload_bytes:",
        DECODE_TESTS,
    ),
    Mutation(
        "decode: remove the epoch-seconds guard (ts < MIN_TS)",
        "ingest/decode.py",
        "if time_ns < MIN_TS_NS:",
        "if time_ns < 0:",
        DECODE_TESTS,
    ),
    Mutation(
        "decode: clock-skew limit doubled",
        "ingest/decode.py",
        "if time_ns > now_ns + self.max_skew_ns:",
        "if time_ns > now_ns + 2 * self.max_skew_ns:",
        DECODE_TESTS,
    ),
    Mutation(
        "decode: drop the upper plausibility bound",
        "ingest/decode.py",
        "if not conv.low <= number <= conv.high:",
        "if not conv.low <= number:",
        DECODE_TESTS,
    ),
    Mutation(
        "decode: ISO timestamp microseconds x100 instead of x1000",
        "ingest/decode.py",
        "delta.microseconds * 1000",
        "delta.microseconds * 100",
        DECODE_TESTS,
    ),
)


def copy_tree(into: Path) -> Path:
    """The working tree without its git data, caches and docs, under ``into``."""
    tree = into / "tree"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", ".venv", ".hypothesis", ".mypy_cache", ".ruff_cache", "docs"
        ),
    )
    return tree


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[str, float]:
    """Run ``tests`` in ``tree``; the first failing test id, "" when all pass; and the seconds."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=tree,
            env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(tree)},
            capture_output=True,
            text=True,
            check=False,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"(hung beyond {RUN_TIMEOUT_S} s)", time.monotonic() - started
    took = time.monotonic() - started
    if done.returncode == 0:
        return "", took
    # "FAILED path::test[a parameter id with spaces] - message"
    failed = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", done.stdout, re.MULTILINE)
    if failed is None:  # a collection error, a crash: say so, do not count it as caught
        return f"(pytest exit {done.returncode}: {done.stdout[-300:]!r})", took
    return failed.group(1), took


def apply(tree: Path, mutation: Mutation) -> str:
    """Mutate the copy; return the original text to restore."""
    path = tree / mutation.path
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.old)
    if count != 1:
        raise SystemExit(
            f"{mutation.name}: {mutation.old!r} occurs {count} times in {mutation.path}"
        )
    path.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(prog="python -m bench.mutations", description=__doc__)
    parser.add_argument("--only", nargs="*", help="run the mutations whose name contains these")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or any(o in m.name for o in args.only)]
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="smartpark-mutations-") as folder:
        tree = copy_tree(Path(folder))
        for tests in sorted({m.tests for m in chosen}):
            failed, took = run_tests(tree, tests)
            if failed:
                raise SystemExit(f"the unmutated tree fails {' '.join(tests)}: {failed}")
            print(f"baseline {' '.join(tests)}: passes ({took:.0f} s)", file=sys.stderr)
        for mutation in chosen:
            original = apply(tree, mutation)
            try:
                failed, took = run_tests(tree, mutation.tests)
            finally:
                (tree / mutation.path).write_text(original, encoding="utf-8")
            verdict = failed if failed and not failed.startswith("(") else f"SURVIVED {failed}"
            print(f"{mutation.path}: {mutation.name} -> {verdict} ({took:.0f} s)", file=sys.stderr)
            rows.append((mutation.path, mutation.name, verdict))
    survived = sum(v.startswith("SURVIVED") for _, _, v in rows)
    if args.markdown:
        print("| File | Mutation | Caught by |\n|---|---|---|")
        for path, name, verdict in rows:
            print(f"| `{path}` | {name} | `{verdict}` |")
    else:
        for path, name, verdict in rows:
            print(f"{path:<24} {name:<66} {verdict}")
    print(f"\n{len(rows)} mutations, {len(rows) - survived} caught, {survived} survived")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
