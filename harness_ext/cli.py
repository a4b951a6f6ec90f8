"""`ftbench` command line: one subcommand per stage; each is a thin typed call into a package.

Errors a user can fix (bad input, bad config) print one clear line and exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness_ext.io import InputError


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers, got {text!r}")
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"--sizes must be positive integers, got {text!r}")
    return sizes


def _test_size(text: str) -> float | int:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("--test-size must be positive")
    return int(value) if value >= 1 and value.is_integer() else value


def cmd_tiny_model(out: Path, corpus: Path | None, steps: int, seed: int) -> None:
    from training.tiny_model import TinyModelConfig, build_tiny_model

    path = build_tiny_model(out, corpus, TinyModelConfig(pretrain_steps=steps, seed=seed))
    print(f"tiny model written to {path}")


def cmd_data_prepare(raw: Path, out: Path, sizes: tuple[int, ...], test_size: float | int,
                     seed: int, max_input_words: int | None, skip_invalid: bool) -> None:
    from harness_ext.data.prepare import prepare_file, write_prepared

    result = prepare_file(raw, skip_invalid=skip_invalid, sizes=sizes, test_size=test_size,
                          seed=seed, max_input_words=max_input_words)
    write_prepared(result, out)
    m = result.manifest
    print(f"prepared {out}: {m['articles']['test']} test / {m['articles']['train']} train articles; "
          f"test rows per task {m['test_rows_per_task']}")
    for name, info in m["sizes"].items():
        print(f"  train_{name}.jsonl: {info['articles']} articles, {info['rows']} rows")
    for w in result.warnings:
        print(f"  note: {w}")


def cmd_eval(models: str | None, study: Path | None, tasks: str, out: Path, backend: str,
             limit: float | None, batch_size: str | None, chat_template: bool,
             metadata: str | None) -> int:
    import json

    from rich.console import Console

    from harness_ext.runner.orchestrator import EvalSettings, evaluate_models
    from harness_ext.runner.specs import parse_model_list
    from harness_ext.runner.summary import print_summary

    if bool(models) == bool(study):
        raise InputError("give exactly one of --models NAME=PATH[,...] or --study CONFIG.yaml")
    if study:
        from harness_ext.study.config import load_study_config

        specs = load_study_config(study).model_specs()
    else:
        specs = parse_model_list(models)
    try:
        meta = json.loads(metadata) if metadata else None
    except json.JSONDecodeError as exc:
        raise InputError(f"--metadata is not valid JSON: {exc}") from None
    lim = int(limit) if limit is not None and limit >= 1 else limit
    bs = int(batch_size) if batch_size and batch_size.isdigit() else batch_size
    settings = EvalSettings(tasks=[t for t in tasks.split(",") if t], backend=backend, limit=lim,
                            batch_size=bs, apply_chat_template=chat_template, metadata=meta)
    console = Console()
    index = evaluate_models(specs, settings, out, console)
    print_summary(index.data, out, console)
    return 0 if all(m["status"] == "complete" for m in index.data["models"].values()) else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ftbench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tiny-model", help="build the embedded tiny Llama model (offline, seconds)")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--corpus", type=Path, default=None, help="raw JSONL (default: bundled sample)")
    t.add_argument("--steps", type=int, default=300, help="pre-training steps")
    t.add_argument("--seed", type=int, default=0)

    d = sub.add_parser("data", help="data preparation")
    dsub = d.add_subparsers(dest="data_command", required=True)
    dp = dsub.add_parser("prepare", help="raw articles → test split + nested chat-format train splits")
    dp.add_argument("raw", type=Path)
    dp.add_argument("--out", type=Path, required=True)
    dp.add_argument("--sizes", type=_sizes, default=(500, 1000, 1500, 2000))
    dp.add_argument("--test-size", type=_test_size, default=0.1,
                    help="test articles: a count (e.g. 50) or a fraction (e.g. 0.1)")
    dp.add_argument("--seed", type=int, default=42)
    dp.add_argument("--max-input-words", type=int, default=None,
                    help="truncate article text in prompts to this many words")
    dp.add_argument("--skip-invalid", action="store_true",
                    help="skip (and count) invalid lines instead of stopping at the first")

    e = sub.add_parser("eval", help="evaluate every model of a study in one invocation")
    e.add_argument("--models", help="NAME=PATH or NAME=BASE::ADAPTER, comma-separated")
    e.add_argument("--study", type=Path, help="study config listing the models")
    e.add_argument("--tasks", default="bmw", help="lm-eval tasks/groups, comma-separated")
    e.add_argument("--out", type=Path, required=True, help="results directory of the study")
    e.add_argument("--backend", choices=("auto", "hf", "vllm"), default="auto")
    e.add_argument("--limit", type=float, default=None, help="examples per task (testing)")
    e.add_argument("--batch-size", default=None, help="default: 8 (hf), auto (vllm)")
    e.add_argument("--no-chat-template", dest="chat_template", action="store_false")
    e.add_argument("--metadata", default=None, help="JSON passed to the tasks (lm-eval --metadata)")
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "tiny-model":
            cmd_tiny_model(args.out, args.corpus, args.steps, args.seed)
        elif args.command == "data" and args.data_command == "prepare":
            cmd_data_prepare(args.raw, args.out, args.sizes, args.test_size, args.seed,
                             args.max_input_words, args.skip_invalid)
        elif args.command == "eval":
            return cmd_eval(args.models, args.study, args.tasks, args.out, args.backend, args.limit,
                            args.batch_size, args.chat_template, args.metadata)
    except InputError as exc:
        print(f"ftbench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
