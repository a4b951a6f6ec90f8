"""sha256 of big files, computed once per file version and remembered on disk.

Why: a model is identified by the content of its weights (ftbench.core.fingerprint), and hashing a
16 GB checkpoint takes minutes, so each hash is kept in `<cache>/hashes.jsonl` keyed by what the
file system says about that version of the file: device, inode, size, mtime and ctime. A copy
(new inode) is hashed once; a file rewritten in place with its mtime restored still changes its
ctime, which no user call can set back, so it is hashed again. The cache is append-only, one JSON
line per hash, written with a single `O_APPEND` write, so concurrent writers never interleave
inside a line; unreadable lines (a crash mid-write, a corrupt file) are skipped and the file is
rewritten atomically without them, so a bad cache costs a re-hash, never a wrong identity.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ftbench.core.io import atomic_write_text, sha256_file
from ftbench.core.model_sources import cache_root

CACHE_NAME = "hashes.jsonl"
MAX_LINES = 4096  # entries kept when the file is compacted (the newest)


def cache_path() -> Path:
    return cache_root() / CACHE_NAME


def _key(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _load(path: Path) -> dict[str, str]:
    """key → sha256 of every readable line; a file with bad or too many lines is rewritten."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    found: dict[str, str] = {}
    bad = 0
    for line in lines:
        if not line.strip():
            continue  # the separator an append writes before its line
        try:
            row = json.loads(line)
            key, sha = row["key"], row["sha256"]
            if not (isinstance(key, str) and isinstance(sha, str) and len(sha) == 64):
                raise ValueError(line)
        except (ValueError, TypeError, KeyError):
            bad += 1
            continue
        found.pop(key, None)
        found[key] = sha  # newest last
    if bad or len(lines) > 2 * MAX_LINES:  # each append writes a blank separator line too
        keep = list(found.items())[-MAX_LINES:]
        try:
            atomic_write_text(path, "".join(_line(k, v) for k, v in keep))
        except OSError:
            pass  # a read-only cache still serves what it holds
    return found


def _line(key: str, sha: str) -> str:
    return json.dumps({"key": key, "sha256": sha}) + "\n"


def _append(path: Path, key: str, sha: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return  # no cache: the next run hashes again
    try:
        os.write(fd, ("\n" + _line(key, sha)).encode("utf-8"))  # "\n": ends a torn last line
    except OSError:
        pass
    finally:
        os.close(fd)


def _size(n: int) -> str:
    if n >= 1e8:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n} bytes"


def cached_sha256(path: Path) -> str:
    """sha256 of `path`, from the cache when this version of the file was hashed before; a hash
    that is computed says so on stderr first (file and size), since it may take minutes."""
    st = path.stat()
    key = _key(st)
    store = cache_path()
    sha = _load(store).get(key)
    if sha is None:
        print(f"ftbench: hashing {path} ({_size(st.st_size)}) to identify the model by "
              f"its content (once; remembered in {store})", file=sys.stderr, flush=True)
        sha = sha256_file(path)
        if _key(path.stat()) == key:  # not changed while it was read
            _append(store, key, sha)
    return sha
