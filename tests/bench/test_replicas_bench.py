"""The replicas benchmark's smoke form: `python -m bench.replicas --quick` runs to the end and
prints every figure; the failover it measures stays within one evaluation period plus a pass."""

from __future__ import annotations

import re

import pytest

from bench import replicas

pytestmark = [pytest.mark.slow]


def test_the_quick_replicas_bench_completes_and_prints_its_figures(capsys):
    assert replicas.main(["--quick", "--clients", "10", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    for run in ("1 replica (`serve`)", "2 replicas (`serve --workers 2`)"):
        [line] = [row for row in out.splitlines() if row.startswith(f"| {run} |")]
        assert int(re.search(r"([\d,]+) req/s", line)[1].replace(",", "")) > 0
        assert re.search(r"= \d+\.\d\d ms CPU/request \| 0 errors", line)
    assert re.search(r"2 replicas / 1 replica: \*\*\d+\.\d\dx\*\*", out)
    [trial] = [row for row in out.splitlines() if row.startswith("| 1 |")]
    lease_s, evaluation_s = (float(x) for x in re.findall(r"(\d+\.\d\d) s", trial))
    # ttl 4 s after the last renewal (at most 0.5 s before the kill), + keeper tick + settle
    assert 3.0 < lease_s <= 5.5
    assert lease_s <= evaluation_s <= 6.5
