"""`ftbench train CONFIG.yaml [key=value ...]`: the typed entry point of the training package.

`train_main` raises InputError for anything the user can fix (the ftbench CLI prints it as one
line, exit 2) and returns 0 when every run of the config is complete, 1 when any failed.
`python -m ftbench.cli.train CONFIG.yaml key=value` runs it without the ftbench CLI: the same
command (`cmd_train`), its parser made from the same signature.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from ftbench.cli.arg_types import FORCE_HELP, SHARD_HELP, TRACKING_HELP, tracking_override
from ftbench.cli.signature import Opt, add_options
from ftbench.core import interrupts
from ftbench.core.io import InputError
from ftbench.core.shard import parse_shard

if TYPE_CHECKING:
    from rich.console import Console

    from ftbench.core.shard import Shard


def _quiet_libraries() -> None:
    """The rich display replaces per-map progress bars and per-step prints of the libraries."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def print_summary(index: dict, names: list[str], console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="ftbench train")
    for col in ("run", "status", "eval loss before → after", "tokens/s", "wall s"):
        table.add_column(col)
    for name in names:
        r = index["runs"].get(name, {})
        ev = r.get("eval_loss") or {}
        status = r.get("status", "?") + (" (skipped)" if r.get("action") == "skipped" else "")
        if r.get("status") == "failed":
            status = f"[red]failed[/red]: {r.get('error', '')[:80]}"
        table.add_row(name, status, f"{_fmt(ev.get('before'))} → {_fmt(ev.get('after'))}",
                      _fmt(r.get("tokens_per_s"), ".0f"), _fmt(r.get("wall_s"), ".1f"))
    console.print(table)
    for name in names:  # the table cuts an error short: each failed run's whole first line
        r = index["runs"].get(name, {})
        if r.get("status") == "failed" and r.get("error"):
            console.print(f"[red]{name}[/]: {escape(r['error'].splitlines()[0])}")


def train_main(config_path: Path, overrides: list[str], force: bool = False,
               shard: Shard | None = None) -> int:
    """Load and validate the config, check every run's data, then train what is not done yet
    (with `shard`, only its share of the runs: ftbench.core.shard)."""
    from ftbench.core import verbosity
    from ftbench.train.config import load_config
    from ftbench.train.device_check import check_train_device
    from ftbench.train.grid import plan, run_grid

    world = os.environ.get("WORLD_SIZE", "1")
    if world.isdigit() and int(world) > 1:  # accelerate launch / torchrun: every rank would
        # take the output directory's lock and write the run's files (a deadlock, not a run)
        raise InputError(f"{config_path}: started as {world} processes (WORLD_SIZE={world}, "
                         "accelerate launch / torchrun); one training run per process is "
                         "supported: spread the runs over GPUs with --shard I/N or ftbench study "
                         "--executor ray")
    cfg = load_config(config_path, overrides)
    plan(cfg)  # every run's data checked before anything heavy is imported
    check_train_device(cfg)  # GPU-only settings without a GPU; unsloth imported before models
    _quiet_libraries()
    console = verbosity.console()
    index = run_grid(cfg, console, force=force, shard=shard)
    names = [r.name for r in cfg.runs()]
    if shard is not None:
        names = shard.select(names, key=str)
    print_summary(index, names, console)
    console.print(f"runs in {cfg.output_dir}/" + ("" if shard else
                                                   f" (index: {cfg.output_dir}/grid_index.json)"))
    return 0 if all(index["runs"][n]["status"] == "complete" for n in names) else 1


def cmd_train(
    *,
    config: Annotated[Path, Opt("training config YAML (one run or a grid)", positional=True)],
    overrides: Annotated[list[str], Opt("key=value overrides (dotted: lora.r=8)",
                                        positional=True)] = (),
    shard: Annotated[str | None, Opt(SHARD_HELP, metavar="I/N")] = None,
    force: Annotated[bool, Opt(FORCE_HELP)] = False,
    tracking: Annotated[str | None, Opt(TRACKING_HELP, metavar="BACKENDS")] = None,
) -> int:
    return train_main(config, tracking_override(overrides, tracking), force=force,
                      shard=parse_shard(shard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftbench.cli.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, cmd_train)
    args, extra = parser.parse_known_args(argv)
    if any("=" not in x or x.startswith("-") for x in extra):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = [*args.overrides, *extra]  # key=value may follow the options too
    previous = interrupts.install()  # as the ftbench CLI: a signal is never lost
    try:
        rc = cmd_train(**vars(args))
        interrupts.check()
        return rc
    except InputError as exc:
        print(f"ftbench train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        interrupts.last_word(f"ftbench train: interrupted ({interrupts.name_of(exc)}); complete "
                             "runs are kept, run again to resume")
        return 130
    finally:
        interrupts.restore(previous)


if __name__ == "__main__":
    sys.exit(main())
