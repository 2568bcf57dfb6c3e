"""Every shell block of README.md and docs/*.md runs as written, or says why it cannot.

A shell block is a fenced block tagged ``sh``, ``bash``, ``shell`` or ``console``. One that needs
hours, hardware, root, a production broker or the whole test suite is marked on the line above
it with ``<!-- illustration: <why> -->``; every other block runs here, in bash with ``set -euo
pipefail``, against a ``smartpark serve`` this test starts (free port, embedded store, a copy of
the demo registry, a key made with ``smartpark keys add``). What the test supplies, and only
that:

- ``http://127.0.0.1:8000`` is the started server's address;
- ``$KEY``, ``$TOKEN`` and ``$OPERATOR_KEY`` hold the operator key, and a line that only gives
  one a placeholder (``KEY=…``) is left to the test;
- ``curl`` fails on an HTTP error (``--fail-with-body``), so a 401 cannot pass as a download;
- ``smartpark`` and ``python`` are this checkout's; the working folder has ``examples/``.

The share of blocks that run is printed and held above a floor, so marking is not free.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.registry import demo_registry_path
from tests.support.servers import Service, free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!-- illustration: (.+?) -->$")
PLACEHOLDER = re.compile(r"^\s*(KEY|TOKEN|OPERATOR_KEY)=…")
KEY_NAMES = ("KEY", "TOKEN", "OPERATOR_KEY")
MIN_RUN = 6  # blocks that must run; a new block is run or marked, never silently skipped


@dataclass(frozen=True)
class Block:
    file: str
    line: int  # of the opening fence, 1-based
    code: str
    why_not: str | None  # the illustration's reason; None: it runs

    @property
    def name(self) -> str:
        return f"{self.file}:{self.line}"


def shell_blocks(path: Path, root: Path = ROOT) -> list[Block]:
    """The shell blocks of one Markdown file, each with its illustration mark if it has one."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    k = 0
    while k < len(lines):
        fence = FENCE.match(lines[k])
        if fence is None:
            k += 1
            continue
        end = next(j for j in range(k + 1, len(lines)) if lines[j].startswith("```"))
        if fence.group(1) in SHELL:
            before = next((lines[j] for j in range(k - 1, -1, -1) if lines[j].strip()), "")
            mark = MARK.match(before.strip())
            found.append(
                Block(
                    str(path.relative_to(root)),
                    k + 1,
                    "\n".join(lines[k + 1 : end]),
                    mark.group(1) if mark else None,
                )
            )
        k = end + 1
    return found


BLOCKS = [b for path in DOCS for b in shell_blocks(path)]
TO_RUN = [b for b in BLOCKS if b.why_not is None]


def test_every_block_runs_or_says_why_not() -> None:
    assert len(BLOCKS) >= 20  # the files were read
    vague = [b.name for b in BLOCKS if b.why_not is not None and len(b.why_not) < 12]
    assert vague == []  # a reason, not "skip"
    share = len(TO_RUN) / len(BLOCKS)
    print(f"docs shell blocks: {len(TO_RUN)} of {len(BLOCKS)} run ({share:.0%}); illustrations:")
    for b in BLOCKS:
        if b.why_not is not None:
            print(f"  {b.name}: {b.why_not}")
    assert len(TO_RUN) >= MIN_RUN


def test_the_parser_finds_marks_and_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```sh\necho one\n```\n\n<!-- illustration: needs a real meter -->\n\n"
        "```bash\nmodbus-poll\n```\n```json\n{}\n```\n",
        encoding="utf-8",
    )
    found = [(b.line, b.code, b.why_not) for b in shell_blocks(page, tmp_path)]
    assert found == [(2, "echo one", None), (8, "modbus-poll", "needs a real meter")]


# --- running them -----------------------------------------------------------------------------


class Serve(Service):
    """``smartpark serve`` of this checkout on a free port, settings from the environment."""

    name = "smartpark-serve"

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        super().__init__(sys.executable, root)
        self.env = env
        self.port = free_port()

    def _command(self) -> list[str]:
        pairs = [f"{k}={v}" for k, v in self.env.items()]
        return ["env", *pairs, self.binary, "-m", "smartpark", "serve", "--port", str(self.port)]

    def _new_ports(self) -> None:
        self.port = free_port()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Site:
    url: str
    env: dict[str, str]
    work: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("docs-run")
    (root / "parks").mkdir()
    shutil.copy(demo_registry_path(), root / "parks" / demo_registry_path().name)
    shim = root / "bin"
    shim.mkdir()
    (shim / "smartpark").write_text(f'#!/bin/sh\nexec {sys.executable} -m smartpark "$@"\n')
    (shim / "smartpark").chmod(0o755)
    # `python` in a block is this checkout's interpreter, as in the activated .venv the docs assume
    for name in ("python", "python3"):
        (shim / name).write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        (shim / name).chmod(0o755)
    settings = {
        "PYTHONPATH": str(ROOT),
        "SMARTPARK_DATA_DIR": str(root / "data"),
        "SMARTPARK_REGISTRY": str(root / "parks"),
        "SMARTPARK_API_KEYS": str(root / "api-keys.yaml"),
    }
    (root / "api-keys.yaml").write_text("[]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    env |= settings | {"PATH": f"{shim}{os.pathsep}{env.get('PATH', '')}"}
    made = subprocess.run(
        [
            "smartpark",
            "keys",
            "add",
            "--role",
            "operator",
            "--park",
            "wuhan-demo",
            "--name",
            "docs",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = made.stdout.strip().splitlines()[-1].strip()
    assert len(token) >= 32, made.stdout
    work = root / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    server = Serve(root / "serve", settings)
    with server:
        yield Site(server.url, env | dict.fromkeys(KEY_NAMES, token), work)


def as_run(block: Block, url: str) -> str:
    """The block as the test runs it: its server's address, no placeholder assignment."""
    lines = [line for line in block.code.splitlines() if not PLACEHOLDER.match(line)]
    body = "\n".join(lines).replace("http://127.0.0.1:8000", url)
    prelude = (
        "set -euo pipefail\n"
        'curl() { command curl --fail-with-body --silent --show-error --max-time 120 "$@"; }\n'
    )
    return prelude + body + "\n"


def test_the_runnable_blocks_run(site: Site) -> None:
    failed = []
    for block in TO_RUN:
        done = subprocess.run(
            ["bash", "-c", as_run(block, site.url)],
            env=site.env,
            cwd=site.work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            failed.append(f"{block.name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    assert failed == [], "\n\n".join(failed)
    # what the blocks said they would write, written: real PDFs and a page, not JSON errors
    for pdf in ("park.pdf", "park-2025.pdf"):
        assert (site.work / pdf).read_bytes().startswith(b"%PDF"), pdf
    assert "<html" in (site.work / "chipcore-2025.html").read_text(encoding="utf-8")[:500]
