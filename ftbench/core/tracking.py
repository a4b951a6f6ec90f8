"""Experiment trackers: which ones a command sends to (`tracking:`), and the writing itself.

Why through the trackers' own libraries: a researcher opens TensorBoard or Trackio's dashboard
next to runs made by other tools; curves, metrics and tables must be where those tools look.
Training curves go through the Trainer's own `report_to` (ftbench.train.sft); evaluation
metrics and the report's tables go through `log_run` here. One tracker run per model, named as
the model, in the study's project (Trackio: `project`, `group`; TensorBoard: one log directory
per model under `<dir>/tensorboard/`), so a fine-tune's curves and its scores sit together.
W&B runs offline (`<dir>/wandb/`, `wandb sync` uploads them later). The packages are the
optional extra `ftbench[tracking]`; a missing one is an input error at load.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ftbench.core.io import InputError

# backend → the module its writer imports (the Trainer's integration needs the same one)
BACKENDS = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb"}
EXTRA = "pip install 'ftbench[tracking]'"
DEFAULT_PROJECT = "ftbench"


def parse_backends(value: list[str] | str, key: str) -> list[str]:
    """`tensorboard,trackio` or a list → the backends, each known and installed."""
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip()]
    for name in names:
        if name not in BACKENDS:
            raise InputError(f"config key '{key}': unknown tracking backend {name!r}; known: "
                             + ", ".join(BACKENDS))
        if importlib.util.find_spec(BACKENDS[name]) is None:
            raise InputError(f"config key '{key}': tracking backend {name!r} needs the "
                             f"{BACKENDS[name]} package: {EXTRA}")
    return list(dict.fromkeys(names))


@dataclass
class TrackingConfig:
    """`tracking:` of a study, a training or an evaluation; `tracking: tensorboard,trackio`
    is short for `tracking: {backends: ...}`."""

    CONFIG_SCALAR_KEY: ClassVar[str] = "backends"

    backends: list[str] | str = field(default_factory=list)
    project: str | None = None  # null: the study's name (`ftbench` outside a study)
    dir: str | None = None      # null: `tracking/` beside the runs / results directory

    def __post_init__(self) -> None:
        self.backends = parse_backends(self.backends, "tracking.backends")

    def resolved(self, project: str, beside: Path | str) -> TrackingConfig:
        """A copy with `project` and `dir` filled (`beside`: the runs or results directory)."""
        return TrackingConfig(backends=list(self.backends), project=self.project or project,
                              dir=self.dir or str(Path(beside).resolve().parent / "tracking"))

    def tensorboard_dir(self, run: str) -> Path:
        return Path(self.dir or "tracking") / "tensorboard" / run


def from_option(backends: str | None, project: str, beside: Path,
                config: TrackingConfig | None = None) -> TrackingConfig | None:
    """`--tracking BACKENDS` of a command (None: not given) over the config's `tracking:`
    (`config`, resolved): the option sets the backends, the config's project and dir stay."""
    if not backends:
        return config
    try:
        chosen = TrackingConfig(backends=backends)
    except InputError as exc:
        raise InputError(str(exc).replace("config key 'tracking.backends'", "--tracking")) from None
    if config is not None:
        return TrackingConfig(backends=chosen.backends, project=config.project, dir=config.dir)
    return chosen.resolved(project, beside)


@contextmanager
def trainer_env(tracking: TrackingConfig | None, run: str) -> Iterator[None]:
    """While a Trainer is built: TensorBoard's callback takes its log directory from
    `TENSORBOARD_LOGGING_DIR` (one directory per run); W&B's callback uses the run that is
    open, so the run is opened here, offline, as `log_run` opens it (`finish_trackers` ends it)."""
    if tracking is not None and "wandb" in tracking.backends:
        wandb_run(tracking, run)
    if tracking is None or "tensorboard" not in tracking.backends:
        yield
        return
    saved = os.environ.get("TENSORBOARD_LOGGING_DIR")
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(tracking.tensorboard_dir(run))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
        else:
            os.environ["TENSORBOARD_LOGGING_DIR"] = saved


def trainer_args(tracking: TrackingConfig | None, run: str) -> dict[str, Any]:
    """The TrainingArguments that send a run's curves to the trackers (none: `report_to=[]`)."""
    if tracking is None or not tracking.backends:
        return {"report_to": []}
    return {"report_to": list(tracking.backends), "run_name": run,
            "project": tracking.project or DEFAULT_PROJECT}


def finish_trackers(tracking: TrackingConfig | None) -> None:
    """Close a Trackio run the Trainer left open (its callback reopens the run when an
    evaluation after `train()` logs, and only `on_train_end` finishes it)."""
    if tracking is not None and "trackio" in tracking.backends:
        import trackio

        if trackio.context_vars.current_run.get() is not None:
            trackio.finish()
    if tracking is not None and "wandb" in tracking.backends:
        import wandb

        if wandb.run is not None:
            wandb.finish()


def wandb_run(tracking: TrackingConfig, run: str):
    """Open W&B run `run` of the project, offline unless `WANDB_MODE` says otherwise, stored
    under `<dir>/wandb/`; its id is the run's name, so training and evaluation of a model are
    one run when synced (`wandb sync <dir>/wandb/offline-run-*`)."""
    import wandb

    project = tracking.project or DEFAULT_PROJECT
    Path(tracking.dir or "tracking").mkdir(parents=True, exist_ok=True)
    return wandb.init(project=project, name=run, group=project, id=wandb_id(run),
                      resume="allow", mode=os.environ.get("WANDB_MODE", "offline"),
                      dir=tracking.dir or "tracking",
                      settings=wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                              disable_git=True, save_code=False))


def wandb_id(run: str) -> str:
    """A W&B run id from a run name (ids take letters, digits, `-` and `_`)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in run)


def log_run(tracking: TrackingConfig, run: str, scalars: dict[str, float], step: int = 0,
            tables: dict[str, list[dict]] | None = None,
            images: dict[str, Path] | None = None) -> None:
    """Send one model's (or the report's) numbers, tables and images to every backend. What
    the libraries print (Trackio's banner) goes to `<dir>/tracking.log`, not ftbench's output."""
    from ftbench.core.verbosity import level, libraries_to

    log = Path(tracking.dir or "tracking") / "tracking.log"
    quiet = level() != "verbose"
    with libraries_to(log), (redirect_stdout(sys.stderr) if quiet else nullcontext()):
        for backend in tracking.backends:
            WRITERS[backend](tracking, run, scalars, step, tables or {}, images or {})


def _tensorboard(tracking, run, scalars, step, tables, images) -> None:
    import numpy as np
    from PIL import Image
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tracking.tensorboard_dir(run)))
    try:
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, step)
        for tag, rows in tables.items():
            writer.add_text(tag, markdown_table(rows), step)
        for tag, path in images.items():
            with Image.open(path) as img:
                writer.add_image(tag, np.asarray(img.convert("RGB")), step, dataformats="HWC")
    finally:
        writer.close()


def _trackio(tracking, run, scalars, step, tables, images) -> None:
    import trackio

    project = tracking.project or DEFAULT_PROJECT
    trackio.init(project=project, name=run, group=project, resume="allow",
                 auto_log_cpu=False, auto_log_gpu=False)
    try:
        trackio.log(_media(trackio, scalars, tables, images), step=step)
    finally:
        trackio.finish()


def _media(library, scalars, tables, images) -> dict[str, Any]:
    """One log call's values: the numbers, tables and images as `library`'s own `Table` and
    `Image` (Trackio and W&B name them, and take them, alike)."""
    values: dict[str, Any] = dict(scalars)
    if tables:
        import pandas as pd

        values.update({tag: library.Table(dataframe=pd.DataFrame(rows))
                       for tag, rows in tables.items()})
    values.update({tag: library.Image(str(path)) for tag, path in images.items()})
    return values


def _wandb(tracking, run, scalars, step, tables, images) -> None:
    import wandb

    active = wandb_run(tracking, run)
    try:  # W&B's own step: a resumed run refuses a step below its last
        active.log(_media(wandb, scalars, tables, images))
    finally:
        active.finish()


WRITERS = {"tensorboard": _tensorboard, "trackio": _trackio, "wandb": _wandb}


def markdown_table(rows: list[dict]) -> str:
    """Rows as a Markdown table (TensorBoard's text tab renders Markdown)."""
    if not rows:
        return "(empty)"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)
