"""A run directory's files: history.json, loss_curve.png, the model card, manifest.json.

Why a staging directory: a run is built in `<output_dir>/.<run>.tmp-<pid>/` and renamed into place
only when complete, so a crash never leaves a half-written run that a resumed grid would trust.
Why `RUN_OUTPUTS`: a run directory may also hold the user's own files (notes, an eval of their
own); every cleanup and replacement touches only the names ftbench writes, never anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ftbench.core.io import atomic_write_json, atomic_write_text

STAGING_PREFIX = "."
STAGING_MARK = ".tmp-"
# every name a run directory gets from ftbench (run.py, write_run_files, a failed run's record)
RUN_OUTPUTS = frozenset({"manifest.json", "adapter", "merged", "trainer", "history.json",
                         "loss_curve.png"})


def is_run_output(name: str) -> bool:
    """A name ftbench writes in a run directory, or the temp file of one (atomic writes)."""
    return name in RUN_OUTPUTS or any(name.startswith(f".{o}.") and name.endswith((".tmp", ".tmp.png"))
                                      for o in RUN_OUTPUTS)


def user_entries(run_dir: Path) -> list[str]:
    """What a run directory holds that ftbench did not write (kept by every cleanup)."""
    if not run_dir.is_dir():
        return []
    return sorted(p.name for p in run_dir.iterdir() if not is_run_output(p.name))


def kept_note(run_dir: Path) -> str | None:
    """The one line that says a cleanup of `run_dir` keeps the user's files."""
    kept = user_entries(run_dir)
    if not kept:
        return None
    listed = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
    return f"{run_dir}: kept {listed} (not written by ftbench); only ftbench's files are replaced"


def clear_run_dir(run_dir: Path) -> list[str]:
    """Remove what ftbench wrote in `run_dir` (the manifest first, so a crash midway never leaves
    a run that looks complete); the directory itself goes only when nothing else is in it.
    Returns the names kept."""
    if not run_dir.is_dir() or run_dir.is_symlink():
        return []
    (run_dir / "manifest.json").unlink(missing_ok=True)
    for p in run_dir.iterdir():
        if is_run_output(p.name):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
    kept = user_entries(run_dir)
    if not kept:
        run_dir.rmdir()
    return kept


def _install(tmp: Path, final: Path) -> None:
    """Put the finished staging dir in place of `final`; a user's files in `final` stay."""
    if final.exists() and clear_run_dir(final):
        for p in sorted(tmp.iterdir(), key=lambda p: p.name == "manifest.json"):  # manifest last
            os.replace(p, final / p.name)
        tmp.rmdir()
    else:
        os.replace(tmp, final)


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield a temp dir beside `final`; on success its files replace ftbench's in `final` (a
    user's files there stay), on error it is deleted and `final` is left as it was."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{final.name}{STAGING_MARK}",
                                dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the run dir gets the usual permissions
    try:
        yield tmp
        _install(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_staging(output_dir: Path, runs: set[str] | None = None) -> list[str]:
    """Delete staging dirs left by a killed process (none of them can be in use: one grid per
    dir, or with `runs`, one process per run: only those runs' leftovers)."""
    removed = []
    if output_dir.is_dir():
        for p in output_dir.iterdir():
            if runs is not None and not any(p.name.startswith(f"{STAGING_PREFIX}{r}{STAGING_MARK}")
                                            for r in runs):
                continue
            if p.is_dir() and p.name.startswith(STAGING_PREFIX) and STAGING_MARK in p.name:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
    return removed


def history_from_log(log_history: list[dict]) -> dict[str, list[dict]]:
    """Train loss per logging step and eval loss per evaluation (step 0 = before training)."""
    train, evals = [], {}
    for h in log_history:
        if "loss" in h:
            train.append({"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"],
                          "learning_rate": h.get("learning_rate"), "grad_norm": h.get("grad_norm")})
        if "eval_loss" in h:
            evals[h["step"]] = {"step": h["step"], "epoch": h.get("epoch"), "loss": h["eval_loss"]}
    return {"train": train, "eval": [evals[s] for s in sorted(evals)]}


def plot_loss_curve(history: dict[str, list[dict]], path: Path, title: str) -> Path:
    """Train and eval loss against the step, as PNG (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    if history["train"]:
        ax.plot([h["step"] for h in history["train"]], [h["loss"] for h in history["train"]],
                marker=".", label="train")
    if history["eval"]:
        ax.plot([h["step"] for h in history["eval"]], [h["loss"] for h in history["eval"]],
                marker="o", label="eval (held-out articles)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def model_card(manifest: dict[str, Any]) -> str:
    """README.md of the merged checkpoint: what it was trained from, on what, how."""
    cfg, data = manifest["config"], manifest["data"]
    lora = cfg["lora"]
    hyper = {
        "method": cfg["method"], "backend": manifest["backend"], "learning_rate": cfg["learning_rate"],
        "epochs": cfg["epochs"], "max_steps": cfg["max_steps"], "steps_run": manifest["steps"],
        "batch_size": cfg["batch_size"], "grad_accum": cfg["grad_accum"],
        "max_seq_length": cfg["max_seq_length"], "lr_scheduler": cfg["lr_scheduler"],
        "warmup_ratio": cfg["warmup_ratio"], "weight_decay": cfg["weight_decay"],
        "seed": cfg["seed"], "loss_mask": manifest["loss_mask"],
    }
    if cfg["method"] != "full":
        hyper.update({"lora_r": lora["r"], "lora_alpha": lora["alpha"],
                      "lora_dropout": lora["dropout"], "lora_target_modules": lora["target_modules"]})
    rows = "\n".join(f"| {k} | {v} |" for k, v in hyper.items())
    before, after = manifest["eval_loss"]["before"], manifest["eval_loss"]["after"]
    return f"""---
base_model: {manifest['base_model']}
library_name: transformers
tags: [ftbench, {cfg['method']}, bmw-press-articles]
---
# {manifest['run']}

Fine-tuned by ftbench from **{manifest['base_model']}** with **{cfg['method']}**
({manifest['backend']} backend) on BMW press articles, loss on assistant tokens only. This directory
is the merged, full-precision checkpoint (`adapter/` beside it holds the adapter alone).

## Data
- train size: **{manifest['train_size']} articles** ({data['train_rows']} rows for training,
  {data['eval_rows']} rows of {data['eval_articles']} held-out articles for eval loss)
- file: `{data['file']}`
- sha256: `{data['sha256']}`

## Hyperparameters
| key | value |
|---|---|
{rows}

## Result
- eval loss before training: {before if before is None else f'{before:.4f}'}
- eval loss after training: {after if after is None else f'{after:.4f}'}
- trainable parameters: {manifest['parameters']['trainable']:,} of
  {manifest['parameters']['total']:,} ({manifest['parameters']['trainable_pct']:.3f} %)
- wall time {manifest['timing']['wall_s']:.1f} s, {manifest['timing']['tokens_per_s']:.0f} tokens/s

Full details: `manifest.json` of the run directory.
"""


def write_run_files(run_dir: Path, manifest: dict, history: dict, merged_dir: Path | None) -> None:
    atomic_write_json(run_dir / "history.json", history)
    plot_loss_curve(history, run_dir / "loss_curve.png", manifest["run"])
    if merged_dir is not None:
        atomic_write_text(merged_dir / "README.md", model_card(manifest))
    atomic_write_json(run_dir / "manifest.json", manifest)  # last: its presence means complete
