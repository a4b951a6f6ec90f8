"""Small file helpers shared by every stage: atomic writes, JSONL reading with line numbers, hashes.

Every artefact ftbench writes goes through `atomic_write_text` (temp file + rename) so that an
interrupted run never leaves a half-written file that a later resume would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad user input; the message names the file, the line and the field."""


def error_line(exc: BaseException, limit: int = 200) -> str:
    """`Type: first line of the message`, at most `limit` characters: a library's exception
    quoted inside one of ftbench's one-line messages."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:limit]


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` via a temp file in the same directory and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return atomic_write_text(path, text)


def parse_json_line(path: str | Path, lineno: int, line: str) -> Any:
    """Parse one JSONL line; a broken line raises InputError naming file and line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        if lineno == 1 and line.lstrip().startswith("["):
            raise InputError(_ARRAY_HINT.format(path=path)) from None
        raise InputError(f"{path}:{lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if lineno == 1 and isinstance(obj, list) and obj and all(isinstance(o, dict) for o in obj):
        raise InputError(_ARRAY_HINT.format(path=path))  # a whole array of records on one line
    return obj


_ARRAY_HINT = ("{path}:1: a JSON array, not JSON Lines (one JSON object per line); convert it "
               "with: jq -c '.[]' {path} > rows.jsonl")


def decode_line(path: str | Path, lineno: int, raw: bytes) -> str:
    """UTF-8 text of one line (a BOM on line 1 is dropped); bad bytes name file, line and offset."""
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{lineno}: not UTF-8 (byte 0x{raw[exc.start]:02x} at byte offset "
                         f"{exc.start} of the line); re-save the file as UTF-8") from None


def check_input_file(path: str | Path, what: str = "file") -> Path:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    return path


def iter_jsonl_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (line_number, raw line) for each non-blank line of a JSONL file."""
    path = check_input_file(path, "JSONL file")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = decode_line(path, lineno, raw)
            if line.strip():
                yield lineno, line


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line_number, object) for each non-blank line; a broken line raises InputError."""
    for lineno, line in iter_jsonl_lines(path):
        yield lineno, parse_json_line(path, lineno, line)


def read_jsonl(path: str | Path) -> list[Any]:
    return [obj for _, obj in iter_jsonl(path)]


def read_text(path: str | Path) -> str:
    """A whole text file as UTF-8 (BOM accepted); a bad byte names file, line and offset."""
    path = check_input_file(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{lineno}: not UTF-8 (byte 0x{data[exc.start]:02x} at byte "
                         f"offset {exc.start - start} of the line); re-save the file as UTF-8"
                         ) from None


def read_json(path: str | Path) -> Any:
    """A JSON file; truncated or invalid JSON names the file, line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
                         ) from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
