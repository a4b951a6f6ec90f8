"""The results directory: one status file per model; `index.json` is derived from them.

    RESULTS/.ftbench/owner.json      kind "ftbench-results" (the project owns this directory)
    RESULTS/.ftbench/lock            one writer at a time (ftbench.core.locking)
    RESULTS/.ftbench/settings.json   the evaluation settings every model shares, with versions,
                                     data hashes and the task-code hash
    RESULTS/<model>/status.json      that model's status, spec, fingerprint, tasks and timings
    RESULTS/<model>/results_*.json   lm-eval's files; `ftbench.run_fingerprint` ties each to
                                     the model and the settings that made it
    RESULTS/index.json               derived: settings, versions and every model's status

Each status file is rewritten atomically after every event, by the one process that holds the
lock, so a crash at any point loses at most the event in flight; `index.json` can always be
rebuilt from the status files (a truncated one is simply rewritten).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.core.fingerprint import (
    EVAL_PACKAGES,
    LEGACY_NOTE,
    changes,
    only_identity_scheme_changed,
    short,
    versions,
)
from ftbench.core.io import InputError, atomic_write_json, read_json
from ftbench.core.outputs import MARK_DIR, claim_dir, clean_partials
from ftbench.eval.results_files import (
    ftbench_block,
    results_files,
    samples_problem,
    shape_problem,
    tasks_of,
)
from ftbench.eval.specs import prompt_settings
from ftbench.eval.task_identity import merged, settings_changes

KIND = "ftbench-results"
STATUS = "status.json"
SETTINGS = "settings.json"


def package_versions() -> dict[str, str]:
    return versions(EVAL_PACKAGES)


def legacy_results_dir(root: Path) -> bool:
    """A results directory written before ownership markers: index.json with models."""
    try:
        data = json.loads((root / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "models" in data and "settings" in data


@dataclass
class ResultsStore:
    root: Path
    settings: dict
    notes: list[str] = field(default_factory=list)  # said once each, in order
    entries: dict[str, dict] = field(default_factory=dict)
    # a shard (`--shard i/N`) or a worker writes only its own models' files: `own` names them,
    # and index.json is left to the un-sharded run or the report that derives it afterwards
    own: frozenset[str] | None = None
    derive_index: bool = True

    @classmethod
    def open(cls, root: Path, settings: dict, force: bool = False,
             own: frozenset[str] | None = None) -> ResultsStore:
        """Claim the directory, check its settings (the caller holds the lock, shared when
        `own` limits this run to some models: then only those are cleaned or moved aside).

        `settings["compare"]` must equal what the directory was made with, and each task
        evaluated there before its own inputs (ftbench.eval.task_identity); otherwise
        InputError says what changed, or with `force` the old results are moved aside first:
        every model's, or only the changed tasks' files.
        """
        claim_dir(root, KIND, adopt=legacy_results_dir)
        store = cls(Path(root), settings, own=own, derive_index=own is None)
        for d in store.model_dirs():
            if store.mine(d.name):  # another shard's staging dir may be in use
                clean_partials(d)
        stored = store._stored_settings()
        diff, tasks = settings_changes(stored, settings) if stored is not None else ([], {})
        if (diff or tasks) and not force:
            what = (f"the results there were made with other evaluation settings "
                    f"({'; '.join(diff)}); re-run with --force to re-evaluate every model" if diff
                    else "; ".join(f"task {t} was evaluated there with other inputs "
                                   f"({'; '.join(c)})" for t, c in tasks.items())
                    + "; re-run with --force to re-evaluate "
                    + ("that task" if len(tasks) == 1 else "those tasks") + " for every model")
            raise InputError(f"{root}: {what} (old results are moved to .ftbench/superseded/), "
                             "or use another --out")
        for d in store.model_dirs():
            if not store.mine(d.name):
                continue
            if diff:
                store.supersede(d.name, why="settings changed")
            elif files := [p for p in results_files(d) if set(tasks_of(p)) & set(tasks)]:
                store.supersede(d.name, f"inputs of {', '.join(tasks)} changed", files)
        atomic_write_json(root / MARK_DIR / SETTINGS, merged(None if diff else stored, settings))
        store.write_index()
        return store

    @classmethod
    def attach(cls, root: Path, own: frozenset[str]) -> ResultsStore:
        """The store as a worker process sees it: the settings the driver wrote, its own models'
        status files, no index (the driver derives it)."""
        return cls(Path(root), read_json(Path(root) / MARK_DIR / SETTINGS), own=own,
                   derive_index=False)

    def mine(self, name: str) -> bool:
        return self.own is None or name in self.own
    def _stored_settings(self) -> dict | None:
        path = self.root / MARK_DIR / SETTINGS
        if path.is_file():
            try:
                return read_json(path)
            except InputError as exc:
                self.note(f"{exc}; settings taken from this run")
                return None
        if (self.root / "index.json").is_file() and self.model_dirs():
            return {"compare": {"made by": "an ftbench version without fingerprints"}}
        return None

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # --- per-model status files ------------------------------------------------------------
    def model_dirs(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".")
                      and ((p / STATUS).exists() or results_files(p)))

    def read_status(self, name: str) -> dict | None:
        path = self.root / name / STATUS
        if not path.is_file():
            return None
        try:
            data = read_json(path)
        except InputError as exc:
            self.note(f"{exc}; rebuilt from the results files")
            return None
        return data if isinstance(data, dict) else None

    def model(self, name: str) -> dict:
        if name not in self.entries:
            self.entries[name] = self.read_status(name) or {
                "status": "pending", "tasks": {}, "created": time.time()}
        return self.entries[name]

    def save(self, name: str) -> None:
        entry = self.model(name)
        entry["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_json(self.root / name / STATUS, entry)
        self.write_index()

    def write_index(self) -> None:
        if self.derive_index:
            atomic_write_json(self.root / "index.json", self.data)

    @property
    def data(self) -> dict:
        """The index: from the status files (models in the order they were first evaluated)."""
        models = {}
        for d in self.model_dirs():
            entry = self.entries.get(d.name) or self.read_status(d.name)
            if entry is None:
                entry = {"status": "unknown", "tasks": {}, "created": 0.0}
            models[d.name] = entry
        order = sorted(models, key=lambda n: (models[n].get("created") or 0.0, n))
        index = {"kind": KIND, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "settings": self.settings.get("index", {}),
                 "versions": self.settings.get("compare", {}).get("versions", {}),
                 "models": {n: _public(models[n]) for n in order}}
        return index

    # --- identity ------------------------------------------------------------------------
    def stale_reason(self, name: str, model_fp: dict, task_fps: dict[str, tuple[str, ...]],
                     prompt: dict | None = None, task_settings: dict | None = None
                     ) -> tuple[str, list[Path] | None] | None:
        """Why the outputs under <name>/ cannot be reused for this model now, and which results
        files that concerns (None: all of them, the model changed), or None. Only the asked
        tasks (`task_fps`) count: a results file of a task changed since (its code, data or
        generation budget, `task_settings` now) is stale alone. `prompt`: the model's prompt
        settings now (chat template, BOS), named when they differ."""
        d = self.root / name
        if not results_files(d):
            return None  # nothing to protect: an old status file is simply rewritten
        status = self.read_status(name) or {}
        was = prompt_settings(status["spec"]) if status.get("spec") else None
        if prompt is not None and was is not None and was != prompt:
            return (f"model {name}: results in {d} were made with prompt settings {was}, "
                    f"not {prompt}"), None
        old = (status.get("fingerprint") or {})
        if old.get("digest") not in (None, model_fp["digest"]):
            if only_identity_scheme_changed(old["digest"], model_fp["digest"]):
                return (f"model {name}: results in {d} were made when big weight files were "
                        f"identified by size and mtime, which cannot tell a copy from another "
                        f"model ({LEGACY_NOTE})")
            was = (old.get("pretrained") or {}).get("ref")
            now = model_fp["pretrained"]["ref"]
            what = f"{was} → {now}" if was != now else f"the files of {now} changed"
            return (f"model {name}: results in {d} were made from another model ({what}; "
                    f"fingerprint {short(old.get('digest'))} → {short(model_fp['digest'])})"), None
        reasons, files = [], []
        for path in results_files(d):
            block = ftbench_block(path) or {}
            got = block.get("run_fingerprint")
            asked = [t for t in tasks_of(path) if t in task_fps and got not in task_fps[t]]
            if not asked:
                continue
            files.append(path)
            old_task = (block.get("task_settings") or {})
            now = (task_settings or {}).get(asked[0])
            what = ("before fingerprints were recorded" if got is None
                    else f"with other inputs ({'; '.join(changes(old_task, now))})"
                    if old_task and now and old_task != now
                    else "with another model or other settings")
            reasons.append(f"model {name}: {', '.join(asked)} ({path.name}) was made {what}")
        return ("; ".join(reasons), files) if reasons else None

    def supersede(self, name: str, why: str, files: list[Path] | None = None) -> Path:
        """Move a model's old outputs aside (never deleted) so it can be evaluated afresh:
        all of them, or only `files` (results files, each with its per-sample logs)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.root / MARK_DIR / "superseded" / stamp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if files is None:
            shutil.move(str(self.root / name), str(target))
            self.entries.pop(name, None)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                date_id = path.stem.removeprefix("results_")
                for f in [*path.parent.glob(f"samples_*_{date_id}.jsonl"), path]:
                    shutil.move(str(f), str(target / f.name))
        self.note(f"model {name}: old results moved to {target} ({why})")
        return target

    def quarantine_corrupt(self, name: str) -> None:
        """A truncated or invalid results file is renamed `*.corrupt`, one whose per-sample logs
        are missing, truncated or changed `*.incomplete` with them (so the task is recomputed)."""
        for path in results_files(self.root / name):
            try:
                data = read_json(path)
                bad = shape_problem(data)
                if bad:
                    raise InputError(f"{path}: {bad}")
            except InputError as exc:
                path.rename(path.with_name(path.name + ".corrupt"))
                self.note(f"{exc}: renamed to {path.name}.corrupt; the task is recomputed")
                continue
            why = samples_problem(path, data)
            if why:
                tasks = ", ".join(data.get("results") or {}) or "its task"
                date_id = path.stem.removeprefix("results_")
                for f in [*path.parent.glob(f"samples_*_{date_id}.jsonl"), path]:
                    f.rename(f.with_name(f.name + ".incomplete"))
                self.note(f"model {name}: {why}; {tasks} evaluated again (its files renamed "
                          f"*.incomplete)")

    # --- events --------------------------------------------------------------------------
    def apply(self, event: dict) -> None:
        """Fold one worker event into the model's status file."""
        name = event["model"]
        m = self.model(name)
        kind = event["event"]
        if kind == "model_start":
            m.update(status="running", error=None, started=time.strftime("%H:%M:%S"))
        elif kind == "model_loaded":
            m["load_seconds"] = round(event["seconds"], 2)
            if "base_load" in event:  # one load per base (ftbench.eval.shared_base)
                m["base_load"] = event["base_load"]
        elif kind == "model_failed":
            m.update(status="failed", error=event["error"])
            for task in m["tasks"].values():
                if task["status"] == "running":
                    task.update(status="failed", error="worker died during this task")
        elif kind == "task_start":
            m["tasks"][event["task"]] = {"status": "running"}
        elif kind == "task_done":
            m["tasks"][event["task"]] = {
                "status": "complete", "results_file": event["results_file"],
                "seconds": round(event["seconds"], 2),
                **({"peak_rss_mb": event["peak_rss_mb"]} if "peak_rss_mb" in event else {}),
                **task_facts(self.root / name / event["results_file"], event["task"])}
        elif kind == "task_failed":
            m["tasks"][event["task"]] = {"status": "failed", "error": event["error"],
                                         "seconds": round(event["seconds"], 2)}
        elif kind == "model_done":
            failed = [t for t, v in m["tasks"].items() if v["status"] != "complete"]
            m.update(status="failed" if failed else "complete",
                     error=f"failed tasks: {', '.join(failed)}" if failed else None,
                     seconds=round(event["seconds"], 2))
        self.save(name)

    def interrupt(self, name: str, signal_name: str) -> None:
        m = self.model(name)
        if m.get("status") in ("running", "pending"):
            m.update(status="interrupted", error=f"interrupted by {signal_name}")
        for task in m["tasks"].values():
            if task["status"] == "running":
                task.update(status="interrupted")
        self.save(name)


def task_facts(results_file: Path, task: str) -> dict:
    """What the index carries from a task's results file: prompt truncation counts (context
    length) and generation-budget hits, as the worker recorded them under `ftbench`."""
    block = ftbench_block(results_file) or {}
    out = {}
    for key in ("prompts", "generation"):
        value = (block.get(key) or {}).get(task)
        if value is not None:
            out[key] = value
    return out


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "created"}


def derived_index(root: Path) -> dict | None:
    """The index the status files make now, or None when `root` has no stored settings (not a
    results directory of ours)."""
    path = Path(root) / MARK_DIR / SETTINGS
    if not path.is_file():
        return None
    try:
        settings = read_json(path)
    except InputError:
        return None
    return ResultsStore(Path(root), settings).data


def derive_index(root: Path) -> bool:
    """Rebuild `index.json` from the status files (after sharded or distributed runs, which
    write none); False when `root` is not a results directory of ours."""
    index = derived_index(root)
    if index is None:
        return False
    atomic_write_json(Path(root) / "index.json", index)
    return True
