"""What torch's intra-op thread count does to a fixed generation workload, side by side.

Each measurement is a fresh process that loads the model, sets its threads with
`ftbench.core.threads.configure_threads(n)`, warms up, then times greedy generation of a fixed
number of tokens from a fixed real-article prompt. Thread counts are interleaved over rounds
(so a change in the machine's load hits all of them alike) and the median is reported, with the
ratio to torch's default (as many threads as CPUs, libgomp's spinning wait). `N:passive` runs
N threads with `OMP_WAIT_POLICY=PASSIVE` (idle OpenMP threads sleep instead of spinning; libgomp
spins ~300k iterations at each barrier unless it has more threads than CPUs), what the `ftbench`
command sets. `--contend` adds a second phase beside a busy process on one CPU.

    python benchmarks/threads.py --model /work/models/smollm2-135m-instruct \
        [--threads 1,2,2:passive,4] [--rounds 3] [--new-tokens 32] [--prompt-tokens 256] [--contend]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW = REPO.parent / "shared" / "data" / "bmw" / "articles_500.jsonl"


def child(model: str, threads: int, prompt_tokens: int, new_tokens: int, reps: int) -> None:
    """One process: load, set threads, warm up, time `reps` generations; prints one JSON line."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftbench.core.threads import configure_threads
    from ftbench.suites.bmw.schema import load_articles

    record = configure_threads(threads)
    tok = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
    articles, _ = load_articles(RAW)
    text = tok.decode(tok(articles[0].content)["input_ids"][:prompt_tokens])
    ids = tok.apply_chat_template([{"role": "user", "content": "Summarize:\n\n" + text}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    kwargs = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}
    with torch.no_grad():
        lm.generate(**ids, max_new_tokens=4, do_sample=False)  # warm-up
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            lm.generate(**ids, **kwargs)
            times.append(time.perf_counter() - t0)
    print("RESULT " + json.dumps({"threads": record["torch_intra_op"], "seconds": min(times),
                                  "prompt_tokens": int(ids["input_ids"].shape[1])}))


def measure(model: str, variant: str, a) -> float:
    """One fresh process; `variant` is a thread count, optionally `N:passive` (OMP_WAIT_POLICY)."""
    n, _, policy = variant.partition(":")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if policy:
        env["OMP_WAIT_POLICY"] = policy.upper()
    cmd = [sys.executable, __file__, "--child", n, "--model", model,
           "--prompt-tokens", str(a.prompt_tokens), "--new-tokens", str(a.new_tokens),
           "--reps", str(a.reps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=1800)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[7:])
    a.prompt_seen = result["prompt_tokens"]
    return result["seconds"]


def phase(model: str, counts: list[str], a, label: str) -> dict[str, float]:
    runs: dict[str, list[float]] = {n: [] for n in counts}
    for r in range(a.rounds):
        for n in counts if r % 2 == 0 else reversed(counts):
            runs[n].append(measure(model, n, a))
    med = {n: statistics.median(v) for n, v in runs.items()}
    print(f"\n{label} ({a.prompt_seen}-token prompt; load average now {os.getloadavg()[0]:.2f}):")
    base = med.get(a.default, min(med.values()))
    for n in counts:
        tag = {a.default: " (torch's default)", f"{a.default}:passive": " (ftbench's default)"
               }.get(n, "")
        print(f"  threads {n:9s}{tag}: {med[n]:.2f} s for {a.new_tokens} tokens "
              f"({a.new_tokens / med[n]:.1f} tok/s), ratio to torch's default {med[n] / base:.2f}, "
              f"runs {', '.join(f'{x:.2f}' for x in runs[n])}")
    return med


def main() -> None:
    from ftbench.core.threads import allowed_cpus

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--threads", default=None,
                   help="comma-separated counts, `N:passive` for OMP_WAIT_POLICY=PASSIVE "
                        "(default: 1, allowed, allowed:passive, 2×allowed)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=2, help="timed generations per process (min taken)")
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--prompt-tokens", type=int, default=256)
    p.add_argument("--contend", action="store_true", help="also measure beside a busy process")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)  # thread count
    a = p.parse_args()
    if a.child is not None:
        child(a.model, a.child, a.prompt_tokens, a.new_tokens, a.reps)
        return
    cpus, source = allowed_cpus()
    a.default = str(cpus)
    counts = (a.threads.split(",") if a.threads
              else list(dict.fromkeys(["1", str(cpus), f"{cpus}:passive", str(2 * cpus)])))
    print(f"allowed CPUs: {cpus} ({source}); load average before: {os.getloadavg()}")
    phase(a.model, counts, a, "as the machine is")
    if a.contend:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1)
            phase(a.model, counts, a, "beside one busy process (one CPU taken)")
        finally:
            busy.kill()
            busy.wait()
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
