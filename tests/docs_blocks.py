"""The fenced blocks of the documentation — README.md, docs/*.md, tasks/*/README.md — and the
command lines in them, for the tests that check the documentation against the code
(tests/test_docs.py; the README's `ftbench eval` / `lm_eval` pair in tests/eval/test_orchestrator.py).

A block may carry a marker: an HTML comment alone on the line before its opening fence, e.g.
`<!-- runs-offline -->`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*([\w-]+)\s*-->\s*$")
SEPARATORS = {"&&", "||", ";", "|"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
            *sorted((REPO / "tasks").glob("*/README.md"))]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    marker: str | None  # the HTML comment on the line before the fence, e.g. "runs-offline"
    heading: str  # the nearest heading above the block
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


@dataclass(frozen=True)
class Command:
    block: Block
    line: int  # 1-based line in the file where the command starts
    text: str  # the command as written, continuation lines joined
    argv: list[str]  # shell words; comments dropped, leading VAR=value assignments removed
    env: dict[str, str]  # those assignments

    @property
    def where(self) -> str:
        return f"{self.block.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found, heading, marker = [], "", None
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.match(line)
        if opening:
            fence = opening.group(2)
            body, j = [], i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                body.append(lines[j])
                j += 1
            found.append(Block(path, i + 1, opening.group(3).lower(), marker, heading,
                               "\n".join(body)))
            marker, i = None, j + 1
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip():
            hit = MARKER.match(line)
            marker = hit.group(1) if hit else None
        i += 1
    return found


def all_blocks() -> list[Block]:
    return [b for path in doc_files() for b in blocks(path)]


def commands(block: Block) -> list[Command]:
    """Each command of a shell block: continuation lines joined, comments dropped, split at
    `&&`, `||`, `;` and `|`."""
    out = []
    logical: list[str] = []
    start = 0
    for n, line in enumerate(block.text.splitlines()):
        if not logical:
            start = n
        if line.rstrip().endswith("\\"):
            logical.append(line.rstrip()[:-1])
            continue
        logical.append(line)
        text = " ".join(part.strip() for part in logical)
        logical = []
        words = shlex.split(text, comments=True)
        if not words:
            continue
        pieces: list[list[str]] = [[]]
        for w in words:
            if w in SEPARATORS:
                pieces.append([])
            else:
                pieces[-1].append(w)
        for argv in pieces:
            env = {}
            while argv and ASSIGNMENT.match(argv[0]):
                key, _, value = argv.pop(0).partition("=")
                env[key] = value
            if argv:
                out.append(Command(block, block.line + 1 + start, text.split(" #")[0].strip(),
                                   argv, env))
    return out


def section_commands(path: Path, heading: str, program: str) -> list[Command]:
    """The commands starting with `program` in the shell blocks under `heading` of `path`."""
    return [c for b in blocks(path) if b.heading == heading and b.lang in ("bash", "sh")
            for c in commands(b) if c.argv[0] == program]
