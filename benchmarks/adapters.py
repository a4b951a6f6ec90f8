"""Adapters without merging vs merged checkpoints (#27), measured side by side in one run.

A base model and N LoRA fine-tunes of it (trained here for a few steps on real BMW articles,
each run keeping both its adapter and its merged checkpoint), evaluated on every bmw task with a
small limit two ways per backend:

  merged    base + N merged checkpoints: N + 1 models, each its own full load;
  adapters  base + N `BASE::ADAPTER` models: on hf the base loads once and each adapter is
            attached in turn (ftbench.eval.shared_base); on vLLM what the vLLM path does.

For each: wall time, peak RSS (this process and its children), base loads (from the results
index), disk the fine-tunes occupy (merged checkpoints vs adapters), and whether every metric of
every model and task is the same both ways. Then the projection for the published grid
(6 bases x 4 sizes) from the measured proportions.

    python benchmarks/adapters.py [--model smollm2] [--adapters 4] [--limit 2]
                                  [--backends hf,vllm] [--steps 2] [--max-gen-toks N]
                                  [--data ARTICLES.jsonl] [--work DIR]

Run it on an idle machine; the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_throughput import QUIET
from real_model_speed import load_avg

from ftbench.core.memory import RssSampler
from ftbench.core.model_sources import resolve_model_path
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import task_metrics
from ftbench.eval.specs import ModelSpec

GRID_BASES, GRID_SIZES = 6, 4  # the published study's grid


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prepared_articles(work: Path, sizes: list[int], data: Path | None) -> Path:
    """Real articles (../shared/data when present, else the bundled sample), prompts cut to 80
    words (a CPU budget), nested training sizes."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared
    from ftbench.suites.bmw.resources import SAMPLE_CORPUS

    source = data or SAMPLE_CORPUS
    return write_prepared(prepare_file(source, sizes=tuple(sizes), test_size=16, seed=42,
                                       max_input_words=80), work / "data")


def fine_tunes(model: str, data: Path, sizes: list[int], steps: int, work: Path) -> list[Path]:
    """One LoRA run per training size (adapter + merged checkpoint kept)."""
    from ftbench.cli.train import train_main

    runs = []
    for size in sizes:
        cfg = work / f"train-{size}.json"
        cfg.write_text(json.dumps({
            "base_model": model, "model_name": "ft", "train_size": size, "data_dir": str(data),
            "output_dir": str(work / "runs"), "method": "lora", "backend": "peft",
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "learning_rate": 1e-3,
            "max_steps": steps, "batch_size": 2, "max_seq_length": 192, "logging_steps": 1,
            "eval_fraction": 0.1, "seed": size, "merge": True}))
        if train_main(cfg, []) != 0:
            raise SystemExit(f"training ft-{size} failed; see {work / 'runs'}")
        runs.append(work / "runs" / f"ft-{size}")
    return runs


def evaluate(specs: list[ModelSpec], backend: str, limit: int, data: Path, out: Path,
             max_gen_toks: int | None) -> dict:
    settings = EvalSettings(tasks=["bmw"], backend=backend, limit=limit,
                            metadata={"bmw_data": str(data)}, max_gen_toks=max_gen_toks)
    with RssSampler(interval=0.2) as rss:
        t0 = time.time()
        index = evaluate_models(specs, settings, out, QUIET).data
        t1 = time.time()
    models = index["models"]
    failed = {n: m.get("error") for n, m in models.items() if m["status"] != "complete"}
    if failed:
        raise SystemExit(f"{backend}: models failed: {failed}")
    loads = {n: m.get("base_load") for n, m in models.items()}  # hf: one record per base load
    return {"wall": t1 - t0, "peak_mb": rss.peak(t0, t1) or math.nan,
            "load_s": sum(m.get("load_seconds", 0.0) for m in models.values()),
            "base_loads": len({(rec or {}).get("load", n) for n, rec in loads.items()}),
            "metrics": {s.name: task_metrics(out / s.name) for s in specs}}


def compare(a: dict, b: dict) -> tuple[int, int, int, float]:
    """(identical values, values within a relative 1e-6, values, largest relative difference)
    over every model, task and metric; NaN equals NaN (a class with no items has no accuracy)."""
    same = close = total = 0
    worst = 0.0
    for model, tasks in a.items():
        for task, metrics in tasks.items():
            for key, x in metrics.items():
                if not isinstance(x, (int, float)) or isinstance(x, bool):
                    continue
                y = b[model][task].get(key)
                total += 1
                if x == y or (isinstance(y, float) and math.isnan(x) and math.isnan(y)):
                    same += 1
                    continue
                rel = (abs(x - y) / max(abs(x), 1e-12)
                       if isinstance(y, (int, float)) and math.isfinite(x) and math.isfinite(y)
                       else math.inf)
                close += rel <= 1e-6
                worst = max(worst, rel)
    return same, close, total, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--adapters", type=int, default=4)
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--backends", default="hf,vllm")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--max-gen-toks", type=int, default=None,
                    help="one answer budget for every generation task (both ways alike)")
    ap.add_argument("--data", type=Path, default=None, help="raw BMW articles (JSONL)")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    console = Console()
    console.print(f"load average at start: {load_avg()}")
    work = args.work or Path(tempfile.mkdtemp(prefix="ftbench-adapters-"))
    base = resolve_model_path(args.model)
    sizes = [16 * (i + 1) for i in range(args.adapters)]
    data = prepared_articles(work, sizes, args.data)
    t0 = time.time()
    runs = fine_tunes(args.model, data, sizes, args.steps, work)
    console.print(f"trained {len(runs)} fine-tunes in {time.time() - t0:.0f} s (not compared)")
    merged_disk = sum(folder_bytes(r / "merged") for r in runs)
    adapter_disk = sum(folder_bytes(r / "adapter") for r in runs)
    base_disk = folder_bytes(Path(base))

    budget = f", answer budget {args.max_gen_toks}" if args.max_gen_toks else ""
    table = Table(title=f"{args.model}: base + {len(runs)} fine-tunes, every bmw task, "
                        f"limit {args.limit}{budget}")
    for col in ("backend", "models as", "wall s", "loads", "load s", "peak RSS MB",
                "fine-tunes on disk MB", "metrics identical"):
        table.add_column(col, justify="right")
    results = {}
    for backend in args.backends.split(","):
        merged = [ModelSpec("base", base)] + [ModelSpec(r.name, str(r / "merged")) for r in runs]
        adapters = [ModelSpec("base", base)] + [
            ModelSpec(r.name, base, adapter=str(r / "adapter")) for r in runs]
        m = evaluate(merged, backend, args.limit, data, work / f"eval-{backend}-merged",
                     args.max_gen_toks)
        a = evaluate(adapters, backend, args.limit, data, work / f"eval-{backend}-adapters",
                     args.max_gen_toks)
        same, close, total, worst = compare(m["metrics"], a["metrics"])
        results[backend] = (m, a)
        table.add_row(backend, "merged", f"{m['wall']:.1f}", str(m["base_loads"]),
                      f"{m['load_s']:.1f}", f"{m['peak_mb']:.0f}", f"{merged_disk / 2**20:.0f}",
                      "")
        table.add_row(backend, "adapters", f"{a['wall']:.1f}", str(a["base_loads"]),
                      f"{a['load_s']:.1f}", f"{a['peak_mb']:.0f}",
                      f"{adapter_disk / 2**20:.1f}",
                      f"{same}/{total}" + (f", {close} within 1e-6 (max rel Δ {worst:.1g})"
                                           if same < total else ""))
    console.print(table)

    # the published grid, from the measured proportions: per model a load share L and an eval
    # share E of the merged path; adapters load each base once and pay E·r per fine-tune
    console.print(f"disk: {len(runs)} merged checkpoints {merged_disk / 2**20:.0f} MB vs "
                  f"adapters {adapter_disk / 2**20:.1f} MB "
                  f"({merged_disk / max(adapter_disk, 1):.0f}x); the base is "
                  f"{base_disk / 2**20:.0f} MB")
    n_models = 1 + len(runs)
    grid_models = GRID_BASES * (1 + GRID_SIZES)
    for backend, (m, a) in results.items():
        load = m["load_s"] / n_models
        evals = (m["wall"] - m["load_s"]) / n_models
        # the adapters' run less its base's evaluation, per fine-tune, against a merged model's
        r = ((a["wall"] - a["load_s"]) - evals) / (len(runs) * evals) if evals > 0 else 1
        merged_grid = grid_models * (load + evals)
        adapters_grid = GRID_BASES * load + GRID_BASES * evals + GRID_BASES * GRID_SIZES * evals * r
        console.print(
            f"{backend}: per model load {load:.1f} s, evaluation {evals:.1f} s; an adapter's "
            f"evaluation costs {r:.2f}x the merged one's. Projected for {GRID_BASES} bases x "
            f"{GRID_SIZES} sizes ({grid_models} models) in these proportions: adapters take "
            f"{adapters_grid / merged_grid:.2f}x the merged path's time "
            f"({GRID_BASES} loads instead of {grid_models}).")
    console.print(f"load average at end: {load_avg()}   (work folder: {work})")


if __name__ == "__main__":
    main()
