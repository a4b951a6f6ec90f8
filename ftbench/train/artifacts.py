"""A run directory's files: history.json, loss_curve.png, the model cards, manifest.json.

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


def write_run_files(run_dir: Path, manifest: dict, history: dict) -> None:
    """History, loss curve, the Hub-style model card of `merged/` and `adapter/`
    (ftbench.train.model_card), then the manifest."""
    from ftbench.train.model_card import write_model_cards

    atomic_write_json(run_dir / "history.json", history)
    plot_loss_curve(history, run_dir / "loss_curve.png", manifest["run"])
    write_model_cards(run_dir, manifest, atomic_write_text)
    atomic_write_json(run_dir / "manifest.json", manifest)  # last: its presence means complete
