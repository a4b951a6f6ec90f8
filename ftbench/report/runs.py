"""Training run directories (`<runs>/<run>/manifest.json` + `history.json`): facts and loss curves.

The training module writes these; the report only reads them. A run made by this version has a
typed block (`run_manifest`, `ftbench.core.run_manifest.RunManifest`): its facts are read from
there. Only a run directory without one (an older or foreign training run) is searched for
facts by key name anywhere in the manifest (`train_size`, `base_model`, `method`, trainable
parameters, final losses); such runs are marked `facts_from: "key search"`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ftbench.core.run_manifest import MANIFEST_KEY, RunManifest
from ftbench.report.meta import manifest_facts
from ftbench.report.stats import as_float

_KEYS = {
    "train_size": ("train_size", "num_train_articles", "train_articles"),
    "base_model": ("base_model", "base", "model_name_or_path", "pretrained", "model"),
    "method": ("method", "finetune_method", "peft_method"),
    "trainable_params": ("trainable_params", "trainable_parameters", "num_trainable_params"),
    "total_params": ("total_params", "total_parameters", "num_parameters", "parameters"),
    "final_train_loss": ("final_train_loss", "train_loss"),
    "final_eval_loss": ("final_eval_loss", "eval_loss"),
}


@dataclass
class Run:
    name: str
    path: Path
    manifest: dict
    history: pd.DataFrame | None
    facts: dict = field(default_factory=dict)
    typed: RunManifest | None = None


def find_key(obj, keys: tuple[str, ...]):
    """First scalar value under any of `keys`, breadth-first through nested dicts."""
    queue = [obj]
    while queue:
        node = queue.pop(0)
        if not isinstance(node, dict):
            continue
        for key in keys:
            value = node.get(key)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                return value
        queue.extend(v for v in node.values() if isinstance(v, dict))
    return None


def parse_history(data) -> pd.DataFrame:
    """Tidy loss curve (step, epoch, train_loss, eval_loss) from HF-style log history.

    Accepts a list of logging entries (HF Trainer `log_history`), the same under a
    `log_history`/`history` key, or a dict of equal-length lists.
    """
    if isinstance(data, dict) and isinstance(data.get("train"), list):
        # ftbench.train.artifacts.history_from_log: {"train": [{step, loss}], "eval": [{step, loss}]}
        train = [{**e, "loss": e.get("loss")} for e in data["train"] if isinstance(e, dict)]
        evals = [{"step": e.get("step"), "epoch": e.get("epoch"), "eval_loss": e.get("loss")}
                 for e in data.get("eval") or [] if isinstance(e, dict)]
        frame = parse_history(train + evals)
        return frame.sort_values("step", kind="stable").reset_index(drop=True)
    if isinstance(data, dict):
        inner = data.get("log_history", data.get("history"))
        if inner is not None:
            return parse_history(inner)
        data = pd.DataFrame(data).to_dict("records")
    rows = []
    for i, entry in enumerate(data or []):
        if not isinstance(entry, dict):
            continue
        train = as_float(entry.get("loss", entry.get("train_loss")))
        evalv = as_float(entry.get("eval_loss"))
        if math.isnan(train) and math.isnan(evalv):
            continue
        rows.append({"step": as_float(entry.get("step", i)), "epoch": as_float(entry.get("epoch")),
                     "train_loss": train, "eval_loss": evalv})
    return pd.DataFrame(rows, columns=["step", "epoch", "train_loss", "eval_loss"])


def _read_json(path: Path, notes: list[str]):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        notes.append(f"{path}: unreadable ({exc.__class__.__name__}); ignored")
        return None


def _known_facts(manifest: dict) -> dict:
    """The layout `ftbench.train.run` writes (ftbench-train-run), read exactly where it is known."""
    out = {}
    params = manifest.get("parameters")
    if isinstance(params, dict):
        out["trainable_params"] = params.get("trainable")
        out["total_params"] = params.get("total")
    loss = manifest.get("eval_loss")
    if isinstance(loss, dict):
        out["eval_loss_before"] = loss.get("before")
        out["final_eval_loss"] = loss.get("after")
    if isinstance(manifest.get("model_name"), str):
        out["base_model"] = manifest["model_name"]
    if manifest.get("status"):
        out["status"] = manifest["status"]
    return {k: v for k, v in out.items() if v is not None}


def load_run(path: Path, notes: list[str]) -> Run | None:
    manifest = _read_json(path / "manifest.json", notes) if (path / "manifest.json").is_file() else {}
    raw = _read_json(path / "history.json", notes) if (path / "history.json").is_file() else None
    if manifest is None and raw is None:
        return None
    manifest = manifest if isinstance(manifest, dict) else {}
    history = parse_history(raw) if raw is not None else None
    typed = None
    if manifest.get(MANIFEST_KEY) is not None:
        typed = RunManifest.from_dict(manifest[MANIFEST_KEY],
                                      f"{path / 'manifest.json'}: {MANIFEST_KEY}")
        facts = {"train_size": typed.train_size, "base_model": typed.base_model,
                 "method": typed.method, "trainable_params": typed.trainable_params,
                 "params": typed.params, "final_train_loss": typed.final_train_loss,
                 "eval_loss_before": typed.eval_loss_before,
                 "final_eval_loss": typed.eval_loss_after, "facts_from": "run manifest"}
        if manifest.get("status"):
            facts["status"] = manifest["status"]
    else:
        facts = {k: find_key(manifest, keys) for k, keys in _KEYS.items()}
        facts.update(_known_facts(manifest))
        facts["facts_from"] = "key search"
    if history is not None and not history.empty:
        for col, key in (("train_loss", "final_train_loss"), ("eval_loss", "final_eval_loss")):
            series = history[col].dropna()
            if facts[key] is None and not series.empty:
                facts[key] = float(series.iloc[-1])
    name = str(manifest.get("run") or manifest.get("name") or manifest.get("run_name")
               or path.name)
    return Run(name=name, path=path, manifest=manifest, history=history, facts=facts,
               typed=typed)


def load_runs(root: Path | None) -> tuple[list[Run], list[str]]:
    """Every run under `root` (the root itself may be a run). Missing root -> no runs."""
    notes: list[str] = []
    if root is None or not Path(root).is_dir():
        return [], notes
    root = Path(root)
    candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    runs = []
    for path in candidates:
        if (path / "manifest.json").is_file() or (path / "history.json").is_file():
            run = load_run(path, notes)
            if run is not None and run.manifest.get("kind") != "ftbench-tiny-model":
                runs.append(run)
                if run.facts.get("status") not in (None, "complete"):
                    error = str(run.manifest.get("error") or "").splitlines()[:1]
                    notes.append(f"training run {run.name}: status {run.facts['status']}"
                                 + (f" ({error[0][:160]})" if error else ""))
    return runs, notes


def match_run(model: str, spec: dict | None, runs: list[Run]) -> Run | None:
    """The run that produced `model`: same name, or the model's weights/adapter lie in it."""
    for run in runs:
        if run.name == model or run.path.name == model:
            return run
    paths = [p for p in ((spec or {}).get("adapter"), (spec or {}).get("pretrained")) if p]
    for run in runs:
        root = run.path.resolve()
        for p in paths:
            try:
                if Path(p).resolve().is_relative_to(root):
                    return run
            except OSError:
                continue
    return None


def run_facts(run: Run) -> dict:
    """Meta facts for `meta.resolve` (params of the evaluated model, in billions).

    peft counts the adapter in its total; merging folds the adapter into the base weights, so
    the merged LoRA/QLoRA checkpoint that is evaluated has the base's count (total - trainable).
    """
    if run.typed is not None:
        return manifest_facts(run.typed)
    out = {"train_size": run.facts.get("train_size"), "method": run.facts.get("method")}
    total = as_float(run.facts.get("total_params"))
    if out["method"] in ("lora", "qlora"):
        total -= as_float(run.facts.get("trainable_params"))
    if not math.isnan(total) and total > 0:
        out["params_b"] = total / 1e9
    base = run.facts.get("base_model")
    if isinstance(base, str) and base:
        out["base_model"] = Path(base).name if Path(base).exists() else base
    return out
