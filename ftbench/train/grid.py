"""Run every (model, train size) of a config: resumable, and one failure does not stop the rest.

Resume rule: a run directory whose manifest says "complete" *and* carries the fingerprint this run
would have now (config, base-model files, train-file hash, versions) is skipped. A complete run
with another fingerprint stops the grid before anything trains (exit 2, saying what changed)
unless `force`, which retrains it (the old run is replaced only when the new one is complete).
Anything else ftbench wrote under the run's name (a failed run's record, a killed run's staging
dir) is removed and the run starts again from the base model; files the user put in a run
directory are kept (ftbench.train.artifacts.RUN_OUTPUTS names what is ftbench's). The output directory is owned by the project
(`.ftbench/owner.json`; a foreign non-empty one is refused) and locked while a grid runs.
`grid_index.json` records every run's status, fingerprint, the error of a failed one, and its
headline numbers.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ftbench.core import interrupts, out_of_memory
from ftbench.core.fingerprint import (
    LEGACY_NOTE,
    TRAIN_PACKAGES,
    changes,
    check_model_ref,
    digest,
    model_fingerprint,
    versions,
)
from ftbench.core.io import InputError, atomic_write_json, sha256_file
from ftbench.core.locking import dir_lock
from ftbench.core.model_sources import check_model_source, is_model_source, source_digest
from ftbench.core.outputs import MARK_DIR, claim_dir
from ftbench.core.shard import Shard
from ftbench.core.verbosity import libraries_to
from ftbench.train.artifacts import clear_run_dir, kept_note, remove_stale_staging
from ftbench.train.config import RunSpec, TrainConfig
from ftbench.train.data import check_train_file, read_manifest
from ftbench.train.device_check import check_train_device
from ftbench.train.unsloth_backend import resolve_backend

INDEX_NAME = "grid_index.json"
RUNS_KIND = "ftbench-train-runs"
# keys that place a run (filled per run or by the study), say where its curves are sent or how
# often it saves checkpoints (a resumed run ends at the same weights), not what it is trained
# with: changing them never retrains
_PLACEMENT_KEYS = ("output_dir", "data_dir", "grid", "base_model", "model_name", "train_size",
                   "tracking", "checkpoint_steps", "checkpoint_minutes")


@dataclass(frozen=True)
class PlannedRun:
    spec: RunSpec
    run_dir: Path
    train_file: Path
    data_sha: str


def plan(cfg: TrainConfig) -> list[PlannedRun]:
    """Check every run's data before anything trains; InputError names the key or the file."""
    data_dir = Path(cfg.data_dir)
    if not data_dir.is_dir():
        raise InputError(f"config key 'data_dir': {data_dir} is not a directory; make it with "
                         "`ftbench data prepare RAW.jsonl --out DIR`")
    manifest = read_manifest(data_dir)
    key = "grid.sizes" if cfg.grid else "train_size"
    hashes: dict[Path, str] = {}
    planned = []
    for spec in cfg.runs():

        path = check_train_file(data_dir, spec.train_size, manifest, key)
        hashes.setdefault(path, sha256_file(path))
        planned.append(PlannedRun(spec, Path(cfg.output_dir) / spec.name, path, hashes[path]))
    # "not found" (or a hub id whose commit cannot be known), not a library error mid-grid
    for model, revision in dict.fromkeys((r.spec.model_path, r.spec.revision) for r in planned):
        where = f"config key '{'grid.models' if cfg.grid else 'base_model'}'"
        if is_model_source(model):  # an alias or .gguf: its package or file, converted later
            try:
                check_model_source(model)
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
        else:  # a local folder's files are not checked here: a broken base fails its runs
            #    alone and the grid goes on (a study checks its bases' files at load)
            check_model_ref(model, where, revision=revision, files=False)
    return planned


def run_fingerprint(cfg: TrainConfig, spec: RunSpec, data_sha: str | None,
                    backend: str | None = None) -> dict:
    """What a run is trained from: its config (null settings as they resolve on this backend
    and device), train size, base-model files (a hub base: its commit), train-file hash and the
    training libraries' versions (`digest` decides reuse)."""
    from ftbench.core.accelerator import torch_device

    backend = backend or resolve_backend(cfg.backend, note=lambda text: None)
    effective = cfg.effective(backend, torch_device())
    config = {k: v for k, v in effective.items() if k not in _PLACEMENT_KEYS}
    if config.get("merge", True):  # the default: runs made before the key stay reusable; a run
        config.pop("merge", None)  # without `merged/` is another output (merge: false recorded)
    hub = None
    if is_model_source(spec.model_path):
        base = source_digest(spec.model_path)
    else:
        model = model_fingerprint(spec.model_path, revision=spec.revision)
        base = model["digest"]
        if model["pretrained"]["kind"] == "hub":  # the commit training loads (and names, if stale)
            hub = f"{spec.model_path}@{model['pretrained']['commit']}"
    fp = {"config": config, "train_size": spec.train_size, "base_model": base,
          **({"base_commit": hub} if hub else {}),
          "prompt": {"chat_template": spec.chat_template, "add_bos_token": spec.add_bos_token},
          "data_sha256": data_sha, "versions": versions(TRAIN_PACKAGES)}
    return {**fp, "digest": digest(fp)}


def stale_reason(run_dir: Path, expected: dict) -> str | None:
    """Why a complete run cannot be reused for `expected`, or None (reusable, or not complete)."""
    m = read_run_manifest(run_dir)
    if not m or m.get("status") != "complete":
        return None
    old = m.get("fingerprint")
    if old and old.get("digest") == expected["digest"]:
        return None
    what = changes(old, expected) if old else ["made before fingerprints were recorded"]
    if any(LEGACY_NOTE in w for w in what):  # the only change may be how the base is identified
        what = [w for w in what if not w.startswith("digest:")]
    return f"run {run_dir.name} was trained from other inputs ({'; '.join(what)})"


def current_runs(cfg: TrainConfig) -> list[tuple[RunSpec, Path]]:
    """The complete runs of `cfg` that match it now (for evaluation); a complete run made from
    other inputs raises InputError (its numbers would be reported under the wrong settings)."""
    data_dir = Path(cfg.data_dir)
    try:
        files = read_manifest(data_dir).get("files", {})
    except InputError:
        files = {}
    out = []
    for spec in cfg.runs():
        run_dir = Path(cfg.output_dir) / spec.name
        if not is_complete(run_dir):
            continue
        expected = run_fingerprint(cfg, spec, files.get(f"train_{spec.train_size}.jsonl"))
        why = stale_reason(run_dir, expected)
        if why:
            raise InputError(f"{why}; retrain it first (ftbench train/study with --force) or "
                             "restore the settings it was trained with")
        out.append((spec, run_dir))
    return out


def read_run_manifest(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_complete(run_dir: Path) -> bool:
    m = read_run_manifest(run_dir)
    return bool(m) and m.get("status") == "complete"


def _summary(m: dict) -> dict[str, Any]:
    return {"status": m.get("status"), "base_model": m.get("base_model"),
            "train_size": m.get("train_size"), "method": m.get("method"),
            "backend": m.get("backend"), "eval_loss": m.get("eval_loss"),
            "tokens_per_s": m.get("timing", {}).get("tokens_per_s"),
            "wall_s": m.get("timing", {}).get("wall_s"), "error": m.get("error"),
            "fingerprint": (m.get("fingerprint") or {}).get("digest")}


class GridIndex:
    """`grid_index.json`: rewritten atomically after every run."""

    def __init__(self, output_dir: Path, cfg: TrainConfig, write: bool = True) -> None:
        self.path = output_dir / INDEX_NAME
        self.write = write  # False: a shard's or worker's records stay in memory
        old = {}
        if self.path.is_file():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8")).get("runs", {})
            except json.JSONDecodeError:
                old = {}
        self.data: dict[str, Any] = {"kind": "ftbench-train-grid", "config": cfg.to_dict(),
                                     "runs": old}

    def record(self, name: str, manifest: dict, action: str) -> None:
        self.data["runs"][name] = {**_summary(manifest), "action": action}
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if self.write:
            atomic_write_json(self.path, self.data)


def _failed_manifest(cfg: TrainConfig, run: PlannedRun, exc: BaseException, t0: float,
                     stage: str = "training") -> dict:
    return {
        "kind": "ftbench-train-run", "status": "failed", "run": run.spec.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "base_model": run.spec.model_path,
        "train_size": run.spec.train_size, "method": cfg.method,
        "error": _error_line(cfg, run, exc, stage),
        "traceback": traceback.format_exc(limit=-8).splitlines()[-40:],
        "timing": {"wall_s": round(time.perf_counter() - t0, 3)}, "config": cfg.to_dict(),
    }


def _error_line(cfg: TrainConfig, run: PlannedRun, exc: BaseException, stage: str) -> str:
    """A failed run's error; out of memory says so in ftbench's words, with the settings to try."""
    if not out_of_memory.is_out_of_memory(exc):
        return f"{type(exc).__name__}: {exc}"
    hints = out_of_memory.TRAIN_HINTS.format(batch_size=cfg.batch_size,
                                             max_seq_length=cfg.max_seq_length)
    return out_of_memory.message(f"run {run.spec.name}", f"while {stage}", hints, exc)


def legacy_runs(output_dir: Path) -> bool:
    """An output directory of a grid run before ownership markers: it has grid_index.json."""
    return (output_dir / INDEX_NAME).is_file()


def run_grid(cfg: TrainConfig, console: Console | None = None,
             callbacks: list | None = None, force: bool = False,
             shard: Shard | None = None) -> dict[str, Any]:
    """Train every run of `cfg` that is not complete and current yet; return the grid index.

    With `shard` (ftbench.core.shard) only its share of the runs, under a shared lock beside
    the other shards; it writes only those runs' directories, and `grid_index.json` is left to
    the next un-sharded run (which finds every run complete and records it)."""
    planned = plan(cfg)  # before the heavy imports: a bad config fails in a second
    backend = check_train_device(cfg)  # GPU-only settings without a GPU: exit 2 here
    if shard is not None:
        planned = shard.select(planned, key=lambda r: r.spec.name)
        if console is not None:
            console.print(f"shard {shard}: {len(planned)} run(s): "
                          f"{', '.join(r.spec.name for r in planned) or '(none)'}")
    fingerprints = {r.spec.name: run_fingerprint(cfg, r.spec, r.data_sha, backend)
                    for r in planned}
    output_dir = claim_dir(cfg.output_dir, RUNS_KIND, what="config key 'output_dir'",
                           adopt=legacy_runs)
    with dir_lock(output_dir, f"ftbench train (output_dir {output_dir})",
                  shared=shard is not None):
        stale = {r.spec.name: why for r in planned
                 if (why := stale_reason(r.run_dir, fingerprints[r.spec.name]))}
        if stale and not force:
            raise InputError(f"{output_dir}: " + "; ".join(stale.values()) + "; re-run with "
                             "--force to retrain (each old run is replaced once its new one is "
                             "complete), or use another output_dir")
        return _train_planned(cfg, planned, fingerprints, set(stale), output_dir, console,
                              callbacks, write_index=shard is None, backend=backend)


def _train_planned(cfg: TrainConfig, planned: list[PlannedRun], fingerprints: dict[str, dict],
                   stale: set[str], output_dir: Path, console: Console | None,
                   callbacks: list | None, write_index: bool = True,
                   backend: str | None = None) -> dict[str, Any]:
    backend = backend or resolve_backend(cfg.backend)  # unsloth: imported by resolving it
    from ftbench.train.progress import GridProgress

    # a shard cleans only its own runs' leftovers: another shard's staging dir may be in use
    remove_stale_staging(output_dir, None if write_index else {r.spec.name for r in planned})
    index = GridIndex(output_dir, cfg, write=write_index)
    with GridProgress(len(planned), console) as display:
        for run in planned:
            interrupts.check()  # a request a library swallowed stops before the next run
            name = run.spec.name
            if is_complete(run.run_dir) and name not in stale:
                index.record(name, read_run_manifest(run.run_dir) or {}, "skipped")
                display.end_run(name, "already complete, skipped")
                continue
            display.start_run(name)
            if note := kept_note(run.run_dir):
                display.console.print(note, highlight=False)
            try:  # the libraries' output: <output_dir>/.ftbench/logs/<run>.log
                with libraries_to(output_dir / MARK_DIR / "logs" / f"{name}.log"):
                    manifest, action = train_one(cfg, run, backend, fingerprints[name],
                                                 name in stale,
                                                 [display.callback(name), *(callbacks or [])],
                                                 on_phase=display.phase)
            except KeyboardInterrupt:
                index.record(name, {"status": "interrupted", "train_size": run.spec.train_size,
                                    "error": "interrupted"}, "interrupted")
                raise
            index.record(name, manifest, action)
            display.end_run(name, f"complete in {manifest['timing']['wall_s']:.1f} s"
                            if action == "trained" else f"[red]failed[/red]: {manifest['error']}")
    return index.data


def train_one(cfg: TrainConfig, run: PlannedRun, backend: str, fingerprint: dict, stale: bool,
              callbacks: list | None = None, on_phase=None) -> tuple[dict, str]:
    """Train one run whatever is under its name (a failed attempt's record is replaced; a
    stale complete run only once the new one is complete); (manifest, "trained" | "failed").
    A failure is recorded in the run's manifest, never raised: the grid goes on."""
    from ftbench.train.checkpoints import checkpoint_root, remove_checkpoints
    from ftbench.train.run import release_memory, train_run

    if not stale:
        clear_run_dir(run.run_dir)  # a failed attempt's record: start clean (user files stay)
    t0 = time.perf_counter()
    stage = ["loading model"]  # the phase a failure happened in (out of memory names it)

    def phase(text: str) -> None:
        if text.startswith(("loading", "training", "exporting")):
            stage[0] = text
        if on_phase is not None:
            on_phase(text)

    try:
        return train_run(cfg, run.spec, backend, run.train_file, run.data_sha, run.run_dir,
                         callbacks, on_phase=phase, fingerprint=fingerprint), "trained"
    except Exception as exc:  # one run's failure must not stop the grid
        # a library that turned the interrupt into its own error: the run is interrupted, not
        # failed, and keeps its checkpoints for the next attempt
        interrupts.check()
        failed = _failed_manifest(cfg, run, exc, t0, stage[0])
        remove_checkpoints(checkpoint_root(run.run_dir))  # a retry starts over, not from them
        if not stale:  # a forced retrain that fails keeps the old run
            clear_run_dir(run.run_dir)
            atomic_write_json(run.run_dir / "manifest.json", failed)
    # only here, after the except block: until it ends, the traceback holds the failed run's
    # frames and with them its model, optimizer and GPU memory (the next run and vLLM need it)
    release_memory()
    return failed, "failed"
