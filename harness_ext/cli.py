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
    except InputError as exc:
        print(f"ftbench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
