"""Output directories the project owns, and cleanup that only ever touches what it wrote.

Every output directory ftbench writes (prepared data, a training grid, a results directory, a
report, a study) carries `.ftbench/owner.json`: what kind of output it is and, where the stage
replaces files, the list of files it wrote. Rules:

- an existing, non-empty directory without that marker is refused (exit 2) — unless it is
  recognisably an output of an earlier ftbench version (`adopt`), which is then marked;
- a directory of another kind is refused (a report is never written into a results directory);
- cleanup removes only files listed in the marker (`replace_files`) or names only ftbench makes
  (`.partial-*` staging directories).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ftbench.core.io import InputError, atomic_write_json, read_json

MARK_DIR = ".ftbench"
OWNER = "owner.json"
PARTIAL_PREFIX = ".partial-"


def owner_path(root: Path) -> Path:
    return Path(root) / MARK_DIR / OWNER


def owner(root: Path) -> dict | None:
    """The marker of an owned directory, or None (no marker, or an unreadable one)."""
    path = owner_path(root)
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except InputError:
        return None
    return data if isinstance(data, dict) and data.get("kind") else None


def _foreign_entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != MARK_DIR)


def check_claim(root: Path | str, kind: str, *, what: str = "--out",
                adopt: Callable[[Path], bool] | None = None) -> bool:
    """Raise InputError (exit 2) unless `root` may become an output of `kind`; changes nothing.
    Returns True when it is already marked as one."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{what} {root}: is a file, not a directory; give a directory path "
                         "(nothing was changed)")
    mark = owner(root) if root.is_dir() else None
    if mark is not None:
        if mark["kind"] != kind:
            raise InputError(f"{what} {root}: holds ftbench {mark['kind']} output, not {kind}; "
                             "give another directory (nothing was changed)")
        return True
    if root.is_dir() and _foreign_entries(root) and not (adopt and adopt(root)):
        listed = ", ".join(_foreign_entries(root)[:3])
        raise InputError(f"{what} {root}: exists, is not empty ({listed}…) and was not created by "
                         "ftbench; give a new or empty directory (nothing was changed)")
    return False


def claim_dir(root: Path | str, kind: str, *, what: str = "--out",
              adopt: Callable[[Path], bool] | None = None) -> Path:
    """Make `root` an owned output directory of `kind` (creating it), or refuse with exit 2."""
    root = Path(root)
    if check_claim(root, kind, what=what, adopt=adopt):
        return root
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(owner_path(root), {"kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                         "files": []})
    return root


def owned_files(root: Path) -> list[str]:
    return list((owner(root) or {}).get("files") or [])


def record_files(root: Path, files: Iterable[str]) -> None:
    mark = owner(root) or {"kind": "unknown"}
    mark["files"] = sorted(set(files))
    atomic_write_json(owner_path(root), mark)


def replace_files(root: Path, written: Iterable[str | Path]) -> list[str]:
    """After a stage wrote `written` (paths under root): delete the files the previous run of
    the stage wrote (per the marker) that this run did not rewrite; record the new list.
    Files the project did not write are never touched."""
    root = Path(root)
    new = {str(Path(p).resolve().relative_to(root.resolve())) if Path(p).is_absolute() else str(p)
           for p in written}
    removed = []
    for rel in owned_files(root):
        if rel not in new:
            path = root / rel
            if path.is_file():
                path.unlink()
                removed.append(rel)
    record_files(root, new)
    return removed


def clean_partials(root: Path) -> list[str]:
    """Delete staging leftovers of killed runs (`.partial-*`), which only ftbench creates."""
    removed = []
    if Path(root).is_dir():
        for p in Path(root).iterdir():
            if p.name.startswith(PARTIAL_PREFIX):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                removed.append(p.name)
    return removed


def partial_dir(root: Path, name: str) -> Path:
    """A fresh staging directory inside `root` (cleaned by `clean_partials` after a kill)."""
    path = Path(root) / f"{PARTIAL_PREFIX}{name}-{os.getpid()}-{time.time_ns()}"
    path.mkdir(parents=True)
    return path
