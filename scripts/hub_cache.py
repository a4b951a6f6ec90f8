"""Lay a local model directory out as a Hugging Face hub cache entry, offline.

Why: the hub is out of reach here (and on a lent GPU machine), but the path real users take —
a hub id such as `Qwen/Qwen3-0.6B` — goes through huggingface_hub's cache. This writes the layout
huggingface_hub itself writes (`models--org--name/{blobs,refs/<rev>,snapshots/<commit>/…}`, each
snapshot file a relative symlink to its blob, blobs named by their git or LFS hash), so that
transformers, peft, lm-eval and vLLM load `org/name` from it with `HF_HUB_OFFLINE=1` exactly as
after a real download. A second call with other files and another commit is "a new upstream
commit": `refs/main` moves, the old snapshot stays.

    python scripts/hub_cache.py MODEL_DIR org/name --cache "$HF_HOME/hub" [--commit SHA]
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def _etag(path: Path) -> str:
    """What the hub names a blob by: sha256 for LFS files, the git blob sha1 otherwise."""
    data = path.read_bytes()
    if path.name.endswith(LFS_SUFFIXES):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_commit(model_dir: Path) -> str:
    """A commit sha made from the files' hashes (the same files give the same commit)."""
    h = hashlib.sha1()
    for f in sorted(p for p in model_dir.iterdir() if p.is_file()):
        h.update(f"{f.name}:{_etag(f)}\n".encode())
    return h.hexdigest()


def add_to_cache(model_dir: Path, repo_id: str, cache: Path, commit: str | None = None,
                 revision: str = "main") -> str:
    """Copy `model_dir`'s top-level files into `cache` as `repo_id`@`commit`; `refs/<revision>`
    names that commit. Returns the commit."""
    model_dir, cache = Path(model_dir), Path(cache)
    commit = commit or tree_commit(model_dir)
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        etag = _etag(f)
        blob = repo / "blobs" / etag
        if not blob.exists():
            tmp = blob.with_suffix(".incomplete")
            tmp.write_bytes(f.read_bytes())
            tmp.rename(blob)
        link = snapshot / f.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="a local HF model directory")
    parser.add_argument("repo_id", help="the hub id to file it under, e.g. org/name")
    parser.add_argument("--cache", type=Path, required=True, help="the hub cache (HF_HOME/hub)")
    parser.add_argument("--commit", help="the commit sha to give it (default: from its files)")
    parser.add_argument("--revision", default="main", help="the ref that names the commit")
    args = parser.parse_args()
    print(add_to_cache(args.model_dir, args.repo_id, args.cache, args.commit, args.revision))


if __name__ == "__main__":
    main()
