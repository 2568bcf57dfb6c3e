"""The repository stands alone: no tracked text file points at a path of the machine it came from.

A user has neither the research folder beside the checkout nor this machine's ``/work`` tree; the
facts the code relies on live in ``docs/sources/`` with their public citations.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Spelled in two halves so that this file does not match itself.
FORBIDDEN = ("shared/" + "research", "/" + "work/")


def _tracked_files() -> list[Path]:
    git = shutil.which("git")
    # CI runs in a clone: there the check must run, never skip
    if (git is None or not (REPO_ROOT / ".git").exists()) and os.environ.get("CI") != "true":
        pytest.skip("needs a git checkout")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    return [REPO_ROOT / name for name in listed.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary (a NUL byte, as git decides) or vanished file."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data[:8000]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_points_at_this_machine() -> None:
    hits = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for line_no, line in enumerate(text.splitlines(), start=1):
            if any(needle in line for needle in FORBIDDEN):
                hits.append(f"{path.relative_to(REPO_ROOT)}:{line_no}: {line.strip()}")
    assert not hits, "machine-local paths in tracked files:\n" + "\n".join(hits)
