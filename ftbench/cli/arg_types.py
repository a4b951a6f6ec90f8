"""The parsers of the command line's option values: each turns one word into a checked value or
says what it takes (argparse prints the message, exit 2)."""

from __future__ import annotations

import argparse

from ftbench.core.io import InputError


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"must be positive integers, got {text!r}")
    return sizes


def parse_test_size(text: str) -> float | int:
    from ftbench.suites.layout import check_test_size

    try:
        return check_test_size(float(text))
    except (ValueError, InputError):
        raise argparse.ArgumentTypeError(
            f"must be a fraction in (0, 1) or a whole number of test articles, got {text!r}"
        ) from None


def parse_limit(text: str) -> int | float:
    """lm-eval's --limit: a whole number of examples per task, or a fraction in (0, 1)."""
    from ftbench.eval.tasks import check_limit

    try:
        return check_limit(float(text))
    except (ValueError, InputError):
        raise argparse.ArgumentTypeError(
            f"must be a whole number of examples (>= 1) or a fraction in (0, 1), got {text!r}"
        ) from None


def parse_batch_size(text: str) -> int | str:
    if text.isdigit() and int(text) > 0:
        return int(text)
    head, _, tail = text.partition(":")
    if head == "auto" and (not tail or (tail.isdigit() and int(tail) > 0)):
        return text
    raise argparse.ArgumentTypeError(f"must be a positive integer, 'auto' or 'auto:N', "
                                     f"got {text!r}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def parse_max_gen_toks(text: str) -> int | dict[str, int]:
    """`--max-gen-toks 256` (every generative task) or `TASK=256,OTHER_TASK=64` per task."""
    try:
        if "=" not in text:
            value: int | dict[str, int] = int(text)
        else:
            value = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in text.split(",") if p)}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--max-gen-toks takes N or TASK=N[,TASK=N]; got {text!r}") from None
    if min([value] if isinstance(value, int) else value.values() or [0]) <= 0:
        raise argparse.ArgumentTypeError(f"--max-gen-toks must be positive; got {text!r}")
    return value


def parse_model_args(text: str) -> dict:
    """`--model-args tensor_parallel_size=2,gpu_memory_utilization=0.9` (values read as YAML
    scalars); the keys are checked against the backend in cmd_eval."""
    import yaml

    args: dict = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--model-args takes KEY=VALUE[,KEY=VALUE]; got {item!r}")
        try:
            args[key] = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            args[key] = raw
    return args


# the help of options several commands share
FORCE_HELP = ("recompute outputs whose inputs changed (config, data, model, versions) instead of "
              "stopping; old training runs are replaced, old eval results moved to "
              "RESULTS/.ftbench/superseded/")
SHARD_HELP = ("evaluate / train only shard I of N (1 <= I <= N; e.g. $SLURM_ARRAY_TASK_ID/"
              "$SLURM_ARRAY_TASK_COUNT): the models or runs sorted by name, every N-th; a later "
              "run without --shard (or ftbench report) derives the index and reuses them all")
TRACKING_HELP = ("also send training curves, evaluation metrics and the report's tables and plots "
                 "to experiment trackers: comma-separated, of tensorboard, trackio, wandb (offline) "
                 "(docs/tracking.md)")


def tracking_override(overrides: list[str], tracking: str | None) -> list[str]:
    """`--tracking BACKENDS` is the override `tracking.backends=BACKENDS` (the config's
    `tracking.project` / `tracking.dir` stay)."""
    return [f"tracking.backends={tracking}", *overrides] if tracking else list(overrides)
