"""Where each suite's evaluation data comes from, hashed, for the run fingerprint of a result.

A result is reused only when the data it was computed from is byte-identical; this module finds
that data the way the suites' lm-eval tasks find it (each suite's `DataSource`: metadata key,
environment variable, bundled sample) and hashes what is there now.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftbench.core.fingerprint import digest, tree_files
from ftbench.core.io import InputError, read_json, sha256_file
from ftbench.core.paths import SAMPLE_SOURCE
from ftbench.suites.base import DataSource


def _prepared_source(value: str | None, how: str, source: DataSource) -> dict:
    if value is None:
        if source.sample is None:
            return {"from": "unset", "path": None, "sha256": None}
        return source.sample()
    root = Path(value).expanduser()
    if root.is_file() and source.raw_file is not None:  # a raw file, taken whole as the test set
        return {"from": how, **source.raw_file(root)}
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
    bundled = sample_dir is not None and value == SAMPLE_SOURCE
    path = sample_dir if bundled else Path(value).expanduser()
    if not path.is_dir():
        return {"from": how, "path": value, "sha256": None}  # a hub name: the task decides
    return {"from": "bundled sample" if bundled else how, "path": str(path.resolve()),
            "sha256": digest(tree_files(path))}


def eval_data_fingerprint(metadata: dict | None, tasks: list[str]) -> dict:
    """Where each suite's evaluation data comes from (metadata key, env var or bundled) and the
    hash of what is there now, keyed by the suite's task group; only suites that `tasks` use
    are looked at (every registered suite, built-in or loaded from a study's `suite:`)."""
    from ftbench.suites.registry import all_suites

    meta = metadata or {}
    out: dict[str, dict] = {}
    for suite in all_suites():
        source = suite.data
        if source is None or not any(suite.owns(t) for t in tasks):
            continue
        if meta.get(source.metadata_key):
            value, how = str(meta[source.metadata_key]), f"metadata {source.metadata_key}"
        elif os.environ.get(source.env_var):
            value, how = os.environ[source.env_var], f"${source.env_var}"
        else:
            value, how = None, ""
        out[suite.task_group] = (_prepared_source(value, how, source) if source.reads == "prepared"
                                 else _dir_source(value, how, source.sample_dir))
    return out


def check_eval_data(metadata: dict | None, tasks: list[str], skip=None) -> None:
    """Before any work: each data directory the tasks will read exists, and offline, the hub
    datasets read where no directory is named are cached (`DataSource.hub_datasets`), so an
    evaluation never fails on its data after the models were trained. `skip`: a suite whose
    data the caller checks itself (a study's own suite: `data.source`)."""
    from ftbench.core.config import relative_note
    from ftbench.core.hub import check_hub_dataset
    from ftbench.suites.registry import all_suites

    meta = metadata or {}
    for suite in all_suites():
        source = suite.data
        owned = [t for t in tasks if suite.owns(t)]
        if source is None or source.reads != "dir" or not owned or suite is skip:
            continue
        key = source.metadata_key
        value = meta.get(key) or os.environ.get(source.env_var)
        how = f"'{key}'" if meta.get(key) else f"${source.env_var}"
        if value and value != SAMPLE_SOURCE and not Path(value).expanduser().is_dir():
            raise InputError(f"{how}: {value} is not a folder{relative_note(str(value))}")
        if not value and source.hub_datasets is not None:
            for task in owned:
                for path, name in source.hub_datasets(task):
                    check_hub_dataset(path, name, f"task {task} (no {key} / ${source.env_var} "
                                      "given: its data is the hub's)")


def task_data_groups(task: str) -> list[str]:
    """The task groups of the suites with evaluation data that own `task` (the keys of
    `eval_data_fingerprint` its results depend on)."""
    from ftbench.suites.registry import all_suites

    return [s.task_group for s in all_suites() if s.data is not None and s.owns(task)]
