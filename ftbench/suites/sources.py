"""Where each suite's evaluation data comes from, hashed, for the run fingerprint of a result.

A result is reused only when the data it was computed from is byte-identical; this module finds
that data the way the suites' lm-eval tasks find it (metadata key, environment variable, bundled
sample) and hashes what is there now.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftbench.core.fingerprint import digest, tree_files
from ftbench.core.io import InputError, read_json, sha256_file
from ftbench.core.paths import SAMPLE_CORPUS


def _bmw_source(value: str | None, how: str) -> dict:
    if value is None:
        from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

        return {"from": "bundled sample", "path": str(SAMPLE_CORPUS),
                "sha256": digest({"corpus": sha256_file(SAMPLE_CORPUS),
                                  "prepare": SAMPLE_PREPARE})}
    root = Path(value).expanduser()
    test = root / "test.jsonl"
    manifest = root / "manifest.json"
    if not test.is_file() or (not manifest.is_file() and (root / ".ftbench").is_dir()):
        raise InputError(f"{test if not test.is_file() else manifest}: not found; {how} must name "
                         "a directory made by `ftbench data prepare` (an interrupted one: run it "
                         "again)")
    sha = sha256_file(test)
    if manifest.is_file():
        expected = (read_json(manifest).get("files") or {}).get("test.jsonl")
        if expected and expected != sha:
            raise InputError(f"{test}: sha256 differs from {manifest}; the file was modified "
                             "after `ftbench data prepare` — prepare it again")
    return {"from": how, "path": str(root.resolve()), "sha256": sha}


def _dir_source(value: str | None, how: str, sample_dir: Path | None = None) -> dict:
    """A suite's local data directory (or its bundled `sample`), hashed; None = the hub."""
    if value is None:
        return {"from": "hub", "path": None, "sha256": None}
    bundled = sample_dir is not None and value == "sample"
    path = sample_dir if bundled else Path(value).expanduser()
    if not path.is_dir():
        return {"from": how, "path": value, "sha256": None}  # a hub name: the task decides
    return {"from": "bundled sample" if bundled else how, "path": str(path.resolve()),
            "sha256": digest(tree_files(path))}


def eval_data_fingerprint(metadata: dict | None, tasks: list[str]) -> dict:
    """Where each suite's evaluation data comes from (metadata key, env var or bundled) and the
    hash of what is there now; only suites that `tasks` use are looked at."""
    meta = metadata or {}
    out: dict[str, dict] = {}

    def pick(key: str, env: str) -> tuple[str | None, str]:
        if meta.get(key):
            return str(meta[key]), f"metadata {key}"
        if os.environ.get(env):
            return os.environ[env], f"${env}"
        return None, ""

    if any(t.startswith("bmw_") for t in tasks):
        value, how = pick("bmw_data", "FTBENCH_BMW_DATA")
        out["bmw"] = _bmw_source(value, how)
    if any(t.startswith("general_small") for t in tasks):
        from ftbench.suites.general.data import SAMPLE_DIR

        value, how = pick("general_data", "FTBENCH_GENERAL_DATA")
        out["general_small"] = _dir_source(value, how, SAMPLE_DIR)
    if any(t.startswith("glue_small") for t in tasks):
        value, how = pick("glue_data", "FTBENCH_GLUE_DATA")
        out["glue_small"] = _dir_source(value, how)
    return out
