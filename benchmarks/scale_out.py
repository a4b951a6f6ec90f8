"""Local executor vs Ray on this machine, side by side, and a projection for the 24-model grid.

    python benchmarks/scale_out.py [--model DIR] [--sizes 16,32] [--steps 60] [--limit 8] [--cpus 2]
                                   [--work work/bench-scale-out]

Runs the same small study twice in fresh processes — `ftbench study` (local executor) and
`ftbench study --executor ray` on a local Ray cluster of `--cpus` CPUs that the study starts and
stops itself (its start-up is part of the time) — on the embedded tiny model (built once into
the work dir unless --model is given): 1 base × the train sizes, evaluated on bmw_type and
bmw_perplexity. Both use one torch thread per task, so Ray's gain is running two tasks at once.
Prints each wall time, the ratio ray / local, that the metrics are identical, and a projection
for the published grid (6 bases × 4 sizes = 24 runs + 30 evaluations) on G GPUs, made from this
run's per-task times (what it assumes is printed with it).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl"


def study_config(root: Path, model: Path, sizes: list[int], limit: int, cpus: int,
                 steps: int) -> Path:
    import yaml

    out = root / "study"
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny").symlink_to(model.resolve())
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump({
        "name": "scale-out", "out_dir": str(out), "ray": {"num_cpus": cpus},
        "data": {"source": str(SAMPLE), "sizes": sizes, "test_size": 16, "seed": 42},
        "models": [{"name": "tiny", "path": "tiny"}],
        "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                  "learning_rate": 3e-3, "max_steps": steps, "batch_size": 4,
                  "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0, "threads": 1},
        "eval": {"tasks": ["bmw_type", "bmw_perplexity"], "backend": "hf", "limit": limit,
                 "threads": 1}}))
    return config


def run_study(config: Path, *extra: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "140"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study", str(config),
                           "--only", "data,models,train,eval", *extra], env=env, cwd=REPO,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"study failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def ray_startup(cpus: int) -> float:
    """Seconds from `ray.init` of a local cluster to the first task's answer (fresh process)."""
    code = ("import time, ray\nt = time.perf_counter()\n"
            f"ray.init(num_cpus={cpus}, include_dashboard=False, log_to_driver=False, "
            "object_store_memory=256 * 1024**2)\n"
            "ray.get(ray.remote(lambda: 1).remote())\nprint(time.perf_counter() - t)\n"
            "ray.shutdown()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def task_times(study: Path) -> tuple[list[float], list[float]]:
    """Training run wall times (run manifests) and evaluation times (status files)."""
    train = [json.loads(p.read_text())["timing"]["wall_s"]
             for p in sorted((study / "runs").glob("*/manifest.json"))]
    evals = [json.loads(p.read_text()).get("seconds") or 0.0
             for p in sorted((study / "results").glob("*/status.json"))]
    return train, evals


def makespan(workers: int, train: float, evaluate: float, bases: int = 6, sizes: int = 4,
             overhead: float = 0.0) -> float:
    """Greedy list schedule of the grid on `workers`: base evaluations and training runs are
    ready at once (trainings first: they unlock evaluations), each fine-tuned evaluation when
    its run ends; every task costs `overhead` more."""
    free = [0.0] * workers
    heapq.heapify(free)
    ready_evals: list[float] = []  # release times of fine-tuned evaluations
    end = 0.0
    for _ in range(bases * sizes):
        start = heapq.heappop(free)
        done = start + train + overhead
        heapq.heappush(free, done)
        ready_evals.append(done)
    jobs = sorted([0.0] * bases + ready_evals)
    for release in jobs:
        start = max(heapq.heappop(free), release)
        done = start + evaluate + overhead
        heapq.heappush(free, done)
        end = max(end, done)
    return end


def metrics_equal(a: Path, b: Path) -> bool:
    sys.path.insert(0, str(REPO))
    from ftbench.eval.results_files import task_metrics

    models = sorted(p.name for p in (a / "results").iterdir() if (p / "status.json").is_file())
    return all(task_metrics(a / "results" / m) == task_metrics(b / "results" / m)
               for m in models)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: build the tiny model")
    ap.add_argument("--sizes", default="16,32")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60, help="training steps per run")
    ap.add_argument("--work", type=Path, default=REPO / "work" / "bench-scale-out")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work
    model = args.model
    if model is None:
        model = work / "tiny-llama"
        if not (model / "config.json").is_file():
            sys.path.insert(0, str(REPO))
            from ftbench.train.tiny_model import build_tiny_model

            build_tiny_model(model)
    for name in ("local", "ray"):
        shutil.rmtree(work / name, ignore_errors=True)
        (work / name).mkdir(parents=True)
    load = os.getloadavg()
    local = run_study(study_config(work / "local", model, sizes, args.limit, args.cpus,
                                   args.steps))
    remote = run_study(study_config(work / "ray", model, sizes, args.limit, args.cpus,
                                    args.steps), "--executor", "ray")
    startup = ray_startup(args.cpus)
    load_after = os.getloadavg()
    train, evals = task_times(work / "local" / "study")
    same = metrics_equal(work / "local" / "study", work / "ray" / "study")
    t_train, t_eval = sum(train) / len(train), sum(evals) / len(evals)
    ideal = makespan(args.cpus, t_train, t_eval, bases=1, sizes=len(sizes))
    serial = makespan(1, t_train, t_eval, bases=1, sizes=len(sizes))
    # what Ray costs beyond its start-up and the ideal schedule, per task (worker processes
    # importing torch/transformers/lm-eval once each, object transfer, scheduling)
    overhead = max(0.0, (remote - startup - (local - serial) - ideal) / (len(train) + len(evals)))

    print(f"load average before {load[0]:.2f} / after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs)")
    print(f"grid: 1 base x sizes {sizes} = {len(train)} runs + {len(evals)} evaluations "
          f"(bmw_type + bmw_perplexity, limit {args.limit}), one torch thread per task")
    print(f"local executor: {local:7.1f} s wall")
    print(f"ray, {args.cpus} CPUs: {remote:7.1f} s wall (Ray start-up included)")
    print(f"ratio ray / local: {remote / local:.2f}; metrics identical: {same}")
    print(f"per task (local): training {t_train:.1f} s, evaluation {t_eval:.1f} s; Ray start-up "
          f"{startup:.1f} s (separate process); Ray cost per task beyond start-up and the ideal "
          f"{args.cpus}-worker schedule: {overhead:.1f} s")
    print("\nprojection, published grid (6 bases x 4 sizes = 24 runs + 30 evaluations), "
          "G workers (GPUs), time relative to the local executor on one:")
    one = makespan(1, t_train, t_eval)
    for g in (1, 2, 4, 8, 24):
        bound = makespan(g, t_train, t_eval)
        span = makespan(g, t_train, t_eval, overhead=overhead) + startup
        print(f"  G = {g:2d}: schedule bound {bound / one:5.3f} (speed-up {one / bound:4.1f}x); "
              f"with the measured Ray costs {span / one:5.3f} ({one / span:4.1f}x)")
    print("assumes: every run takes the measured mean training time and every evaluation the "
          "measured mean evaluation time, in the same proportion on a GPU as here (the ratio "
          "transfers, not the seconds: on a GPU both are far shorter and training dominates "
          "more, so Ray's fixed costs weigh less than here); one task per GPU; no data-loading "
          "or filesystem contention between workers")


if __name__ == "__main__":
    main()
