"""Training throughput of LoRA vs QLoRA vs full fine-tuning (and peft vs unsloth on a GPU).

Runs the real `ftbench train` code path (ftbench.train.run.train_run) once per method on the same data
and prints tokens/s side by side as ratios to LoRA. The figure is the trainer's own: non-padding
input tokens seen / train_runtime (what every run's manifest.json reports).

    python benchmarks/train_throughput.py                       # tiny model, built on the fly
    python benchmarks/train_throughput.py --model work/tiny-llama --steps 40
    python benchmarks/train_throughput.py --model unsloth/Llama-3.2-1B-Instruct --seq-len 1024  # GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _prepare(work: Path) -> Path:
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared
    from ftbench.suites.bmw.resources import SAMPLE_CORPUS
    from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

    return write_prepared(prepare_file(SAMPLE_CORPUS, **SAMPLE_PREPARE), work / "data")


def _config(args, model: str, data: Path, out: Path, method: str, backend: str):
    from ftbench.core.config import build
    from ftbench.train.config import TrainConfig

    return build(TrainConfig, {
        "base_model": model, "model_name": f"{method}-{backend}", "train_size": 48,
        "data_dir": str(data), "output_dir": str(out), "method": method, "backend": backend,
        "max_steps": args.steps, "batch_size": args.batch_size, "max_seq_length": args.seq_len,
        "learning_rate": 1e-4, "logging_steps": max(1, args.steps), "eval_fraction": 0.0,
        "seed": 0, "lora": {"r": args.lora_r, "alpha": 2 * args.lora_r, "dropout": 0.0},
    })


def _measure(args, model: str, data: Path, out: Path, method: str, backend: str) -> dict:
    from ftbench.train.grid import plan
    from ftbench.train.run import train_run

    cfg = _config(args, model, data, out, method, backend)
    (run,) = plan(cfg)
    m = train_run(cfg, run.spec, backend, run.train_file, run.data_sha,
                  out / f"{method}-{backend}")
    return {"method": method, "backend": backend, "tokens_per_s": m["timing"]["tokens_per_s"],
            "train_s": m["timing"]["train_s"], "steps": m["steps"],
            "tokens": m["timing"]["tokens_seen"], "peak_rss_mb": m["memory"]["peak_rss_mb"],
            "cuda_max_allocated_mb": m["memory"]["cuda_max_allocated_mb"],
            "trainable_pct": m["parameters"]["trainable_pct"]}


def _median(runs: list[dict]) -> dict:
    """The run with the median tokens/s, plus the spread over the repeats."""
    ordered = sorted(runs, key=lambda r: r["tokens_per_s"])
    mid = dict(ordered[len(ordered) // 2])
    mid["tokens_per_s_all"] = [round(r["tokens_per_s"], 1) for r in runs]
    return mid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default=None, help="model dir or hub id (default: build a tiny one)")
    p.add_argument("--hidden", type=int, default=128, help="built tiny model: hidden size")
    p.add_argument("--layers", type=int, default=2, help="built tiny model: layers")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--methods", default="lora,qlora,full")
    p.add_argument("--repeats", type=int, default=3, help="runs per method (median reported)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is steadier on a busy host)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from ftbench.cli.train import _quiet_libraries
    from ftbench.train.unsloth_backend import unsloth_installed

    _quiet_libraries()
    with tempfile.TemporaryDirectory(prefix="ftbench-bench-") as tmp:
        work = Path(tmp)
        model = args.model
        if model is None:
            from ftbench.train.tiny_model import TinyModelConfig, build_tiny_model

            inter = max(64, round(args.hidden * 2.75 / 64) * 64)  # bitsandbytes: multiple of 64
            tiny = TinyModelConfig(pretrain_steps=20, hidden_size=args.hidden, num_layers=args.layers,
                                   intermediate_size=inter if args.hidden != 128 else 352)
            model = str(build_tiny_model(work / "tiny", config=tiny))
        data = _prepare(work)
        warm = argparse.Namespace(**{**vars(args), "steps": 2})
        _measure(warm, model, data, work / "warmup", "lora", "peft")  # first-call costs
        methods = [m for m in args.methods.split(",") if m]
        combos = [(m, "peft") for m in methods]
        if torch.cuda.is_available() and unsloth_installed():
            combos += [(m, "unsloth") for m in methods if m != "full"]
        # round-robin repeats: a load spike from another process hits every method alike
        samples: dict[tuple[str, str], list[dict]] = {c: [] for c in combos}
        for i in range(args.repeats):
            for method, backend in combos:
                samples[(method, backend)].append(
                    _measure(args, model, data, work / f"runs{i}", method, backend))
        results = [_median(v) for v in samples.values()]

    base = next((r for r in results if r["method"] == "lora" and r["backend"] == "peft"),
                results[0])
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else (
        f"CPU ({os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
        f"{platform.machine()})")
    name = args.model or f"tiny (built: hidden {args.hidden}, {args.layers} layers)"
    print(f"\ntraining throughput — model {name}, {device}")
    print(f"{args.steps} steps × batch {args.batch_size}, max {args.seq_len} tokens, median of "
          f"{args.repeats} round-robin repeats; load average at end {os.getloadavg()[0]:.1f}\n")
    print(f"{'method':<8}{'backend':<9}{'tokens/s':>10}{'× lora':>8}{'s/step':>8}"
          f"{'peak RSS MiB':>14}{'trainable %':>13}  tokens/s of each repeat")
    for r in results:
        print(f"{r['method']:<8}{r['backend']:<9}{r['tokens_per_s']:>10.0f}"
              f"{r['tokens_per_s'] / base['tokens_per_s']:>8.2f}{r['train_s'] / r['steps']:>8.3f}"
              f"{r['peak_rss_mb']:>14.0f}{r['trainable_pct']:>13.2f}  "
              + ", ".join(f"{t:.0f}" for t in r["tokens_per_s_all"]))
    if not (torch.cuda.is_available() and unsloth_installed()):
        print("\n(peft vs unsloth: needs CUDA and the `gpu` extra; not measured here)")
    if args.json:
        args.json.write_text(json.dumps({"device": device, "args": vars(args) | {"json": None},
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
