"""The model card (README.md) of a trained run's `merged/` and `adapter/` folders, in the Hub's form.

Why the Hub's form: a run folder is what a researcher uploads (`huggingface-cli upload`) or opens
next to others; the Hub, `huggingface_hub.ModelCard` and the tools built on them read the YAML
front matter (`base_model`, `library_name`, `tags`, `datasets`), not prose. So both folders get a
card whose metadata is written by `huggingface_hub.ModelCardData` (the Hub's own serialiser; no
network) and whose body holds the training settings:
- `base_model`: the model as the config names it (a hub id or a model alias); a local directory
  or `.gguf` file as its absolute path, never a relative one that means nothing elsewhere;
- `library_name`: `transformers` for the merged checkpoint, `peft` for the adapter (peft's own
  `save_pretrained` leaves an empty template there, which this card replaces);
- `tags`: `ftbench`, the method (`lora`, `qlora`, `full`) and the suite of the training data
  (from the prepared data's manifest), so runs of one study are found together;
- `datasets`: the hub dataset the data came from, where that is known;
- `model-index`: the run's evaluation results (lm-eval task → metric → value), once the study has
  evaluated it (`add_results`); README.md is no part of a model's identity
  (ftbench.core.fingerprint), so rewriting the card changes no fingerprint and retrains nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CARD = "README.md"
# the study's copy of a hub dataset: <out>/raw/<org>__<name>.jsonl (ftbench.pipelines.study)
_HUB_RAW = re.compile(r"^(?P<org>[\w.-]+)__(?P<name>[\w.-]+)\.jsonl$")


def base_model_ref(given: str) -> str:
    """The config's model as a card names it: a path that exists here becomes absolute; a hub
    id or an alias stays as given."""
    path = Path(given).expanduser()
    return str(path.resolve()) if path.exists() else given


def data_facts(train_file: str | Path) -> dict[str, Any]:
    """The suite and hub dataset of a run's training data, from the prepared data's manifest
    (absent keys: not known)."""
    manifest = Path(train_file).parent / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    facts: dict[str, Any] = {}
    if isinstance(data.get("suite"), str):
        facts["suite"] = data["suite"]
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    hub = source.get("hub_dataset") or _hub_dataset_of(source.get("path"))
    if hub:
        facts["dataset"] = hub
    return facts


def _hub_dataset_of(path: str | None) -> str | None:
    if not path or Path(path).parent.name != "raw":
        return None
    found = _HUB_RAW.match(Path(path).name)
    return f"{found['org']}/{found['name']}" if found else None


def eval_results(results: dict[str, dict[str, float]] | None) -> list | None:
    """lm-eval's task → {metric: value} as the Hub's `EvalResult`s (standard errors left out:
    the Hub's model-index has no place for them)."""
    from huggingface_hub import EvalResult

    rows = [EvalResult(task_type="text-generation", dataset_type=task, dataset_name=task,
                       metric_type=metric, metric_name=metric, metric_value=value)
            for task, metrics in sorted((results or {}).items())
            for metric, value in sorted(metrics.items()) if not metric.endswith("_stderr")]
    return rows or None


def card_data(manifest: dict[str, Any], library: str,
              results: dict[str, dict[str, float]] | None = None):
    """The card's Hub metadata (`huggingface_hub.ModelCardData`)."""
    from huggingface_hub import ModelCardData

    facts = data_facts(manifest["data"]["file"])
    tags = ["ftbench", manifest["config"]["method"], *([facts["suite"]] if "suite" in facts else [])]
    evals = eval_results(results)
    return ModelCardData(base_model=base_model_ref(manifest["base_model"]), library_name=library,
                         tags=tags, datasets=[facts["dataset"]] if "dataset" in facts else None,
                         pipeline_tag="text-generation", eval_results=evals,
                         model_name=manifest["run"] if evals else None)


def settings_table(manifest: dict[str, Any]) -> str:
    """The training settings, one row each (the full record is the run's manifest.json)."""
    cfg = manifest["config"]
    rows = {
        "method": cfg["method"], "backend": manifest["backend"], "learning_rate": cfg["learning_rate"],
        "epochs": cfg["epochs"], "max_steps": cfg["max_steps"], "steps_run": manifest["steps"],
        "batch_size": cfg["batch_size"], "grad_accum": cfg["grad_accum"],
        "max_seq_length": cfg["max_seq_length"], "lr_scheduler": cfg["lr_scheduler"],
        "warmup_ratio": cfg["warmup_ratio"], "weight_decay": cfg["weight_decay"],
        "seed": cfg["seed"], "loss_mask": manifest["loss_mask"],
    }
    if cfg["method"] != "full":
        lora = cfg["lora"]
        rows.update({"lora_r": lora["r"], "lora_alpha": lora["alpha"],
                     "lora_dropout": lora["dropout"], "lora_target_modules": lora["target_modules"]})
    if manifest.get("base_model_revision"):
        rows["base_model_revision"] = manifest["base_model_revision"]
    return "| key | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows.items())


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def results_section(data) -> str:
    """The evaluation results of the card's model-index, as a table ('' before evaluation)."""
    if not data.eval_results:
        return ""
    rows = "\n".join(f"| {r.dataset_name} | {r.metric_type} | {r.metric_value:.4f} |"
                     for r in data.eval_results)
    return ("\n## Evaluation\nlm-evaluation-harness tasks as ftbench ran them (the study's "
            "`results/` folder holds every file):\n\n| task | metric | value |\n|---|---|---|\n"
            f"{rows}\n")


def model_card(manifest: dict[str, Any], folder: str = "merged",
               results: dict[str, dict[str, float]] | None = None) -> str:
    """README.md of a run's `merged` (library transformers) or `adapter` (library peft) folder,
    with its evaluation `results` (task → metric → value) once there are any."""
    from huggingface_hub import ModelCard

    library = "peft" if folder == "adapter" else "transformers"
    data = card_data(manifest, library, results)
    cfg, d, p = manifest["config"], manifest["data"], manifest["parameters"]
    suite = data_facts(d["file"]).get("suite")
    what = ("the adapter alone: load it on the base model with peft "
            "(`PeftModel.from_pretrained(base, this_folder)`); " + (
                "`merged/` beside it holds the merged checkpoint"
                if (manifest.get("outputs") or {}).get("merged", "merged")
                else "no merged checkpoint was written (trained with `merge: false`)")
            if folder == "adapter" else
            "the merged, full-precision checkpoint" + ("" if cfg["method"] == "full" else
                                                       " (`adapter/` beside it holds the adapter "
                                                       "alone)"))
    body = f"""
# {manifest['run']}

Fine-tuned by ftbench from **{data.base_model}** with **{cfg['method']}**
({manifest['backend']} backend){f' on the {suite} suite' if suite else ''}, loss on
{manifest['loss_mask']} tokens. This folder is {what}.

## Training data
- train size: **{manifest['train_size']} articles** ({d['train_rows']} rows for training,
  {d['eval_rows']} rows of {d['eval_articles']} held-out articles for eval loss)
- file: `{d['file']}`
- sha256: `{d['sha256']}`

## Training settings
{settings_table(manifest)}

## Result
- eval loss before training: {_loss(manifest['eval_loss']['before'])}
- eval loss after training: {_loss(manifest['eval_loss']['after'])}
- trainable parameters: {p['trainable']:,} of {p['total']:,} ({p['trainable_pct']:.3f} %)
- wall time {manifest['timing']['wall_s']:.1f} s, {manifest['timing']['tokens_per_s']:.0f} tokens/s
{results_section(data)}
Full details: `manifest.json` of the run directory.
"""
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def write_model_cards(run_dir: Path, manifest: dict[str, Any], write_text,
                      results: dict[str, dict[str, float]] | None = None) -> list[Path]:
    """A card in each of the run's model folders that exists (`merged/`, `adapter/`)."""
    written = []
    for folder in ("merged", "adapter"):
        if (run_dir / folder).is_dir():
            path, text = run_dir / folder / CARD, model_card(manifest, folder, results)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                write_text(path, text)  # an unchanged card keeps its file (and its time)
            written.append(path)
    return written


def add_results(run_dir: Path, results: dict[str, dict[str, float]]) -> list[Path]:
    """Rewrite a complete run's cards with its evaluation results (the run's manifest is read,
    not changed); nothing for a run that is not complete or has no results."""
    from ftbench.core.io import atomic_write_text

    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict) or manifest.get("status") != "complete" or not results:
        return []
    return write_model_cards(run_dir, manifest, atomic_write_text, results)
