"""Evaluation speed, measured side by side in one run; prints ratios.

(a) harness wall time vs the raw generation floor (the same prompts through model.generate),
(b) vLLM vs hf backend on the same tasks, (c) one invocation over 4 models vs 4 separate
`lm_eval` CLI runs, (d) a second, cached run vs the first.

    python benchmarks/eval_throughput.py --model work/tiny-llama [--limit 16] [--skip-vllm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ftbench.core.paths import TASKS_DIR
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.specs import ModelSpec

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the script)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def harness(models: list[ModelSpec], tasks: list[str], out: Path, limit: int, backend="hf",
            metadata: dict | None = None) -> float:
    settings = EvalSettings(tasks=tasks, backend=backend, limit=limit, metadata=metadata)
    return timed(lambda: evaluate_models(models, settings, out, QUIET))


def raw_generation_floor(model_dir: str, limit: int) -> float:
    """The bmw_title prompts of the harness run, straight through model.generate (batch 8),
    with the task's generation settings: the floor any harness over the same model pays."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftbench.suites.bmw.prompts import load_task_yaml, task_prompts
    from ftbench.suites.bmw.resources import BMW_TASKS_DIR
    from ftbench.suites.bmw.task_rows import test_rows

    gen = load_task_yaml(BMW_TASKS_DIR / "bmw_title.yaml")["generation_kwargs"]

    def run() -> None:
        tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        p = task_prompts()["title"]
        prompts = [tok.apply_chat_template(
            [{"role": "system", "content": p.system}, {"role": "user", "content": p.render_user(r)}],
            tokenize=False, add_generation_prompt=True) for r in test_rows("title")[:limit]]
        for i in range(0, len(prompts), 8):
            enc = tok(prompts[i:i + 8], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                # the task's own settings: greedy, its max tokens and stop sequences
                model.generate(**enc, max_new_tokens=gen["max_gen_toks"], do_sample=False,
                               stop_strings=gen["until"], tokenizer=tok,
                               pad_token_id=tok.pad_token_id)
    return timed(run)


def cli_runs(model_dir: str, tasks: list[str], n: int, limit: int, out: Path) -> float:
    def run() -> None:
        for i in range(n):
            subprocess.run([sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
                            f"pretrained={model_dir},dtype=float32", "--device", "cpu",
                            "--include_path", str(TASKS_DIR), "--tasks", ",".join(tasks),
                            "--limit", str(limit), "--batch_size", "8", "--apply_chat_template",
                            "--output_path", str(out / f"m{i}")],
                           check=True, capture_output=True)
    return timed(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--skip-vllm", action="store_true")
    args = ap.parse_args()
    model = str(Path(args.model).resolve())
    from ftbench.core.lm_eval_glue import HFLM  # noqa: F401  (imports paid before any timing)
    work = Path(tempfile.mkdtemp(prefix="ftbench-bench-"))
    rows = []
    try:
        spec = [ModelSpec("m", model)]
        t_harness = harness(spec, ["bmw_title"], work / "a", args.limit)
        t_floor = raw_generation_floor(model, args.limit)
        rows.append(("(a) harness / raw model.generate, bmw_title", t_harness, t_floor))

        if not args.skip_vllm:
            tasks = ["bmw_title", "bmw_type_mc"]
            t_v = harness(spec, tasks, work / "bv", args.limit, backend="vllm")
            t_h = harness(spec, tasks, work / "bh", args.limit, backend="hf")
            rows.append(("(b) vLLM / hf, bmw_title + bmw_type_mc", t_v, t_h))

        tasks = ["bmw_type", "bmw_tags"]
        four = [ModelSpec(f"m{i}", model) for i in range(4)]
        t_one = harness(four, tasks, work / "c", args.limit)
        t_cli = cli_runs(model, tasks, 4, args.limit, work / "cli")
        rows.append(("(c) one invocation / 4 lm_eval CLI runs, 4 models", t_one, t_cli))

        for f in (work / "c").glob("m*/results_*.json"):
            f.unlink()  # keep the request caches, drop the results: a re-run answers from cache
        t_cached = harness(four, tasks, work / "c", args.limit)
        rows.append(("(d) cached re-run / first run", t_cached, t_one))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"eval throughput — limit {args.limit}, {os.cpu_count()} CPUs")
    for col in ("comparison", "A (s)", "B (s)", "A / B"):
        table.add_column(col, justify="right" if col != "comparison" else "left")
    for name, a, b in rows:
        table.add_row(name, f"{a:.1f}", f"{b:.1f}", f"{a / b:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
