"""Peak memory of the bmw_perplexity task on the longest real articles: ftbench's bounded hf
backend vs lm-eval's upstream hf backend, each in its own process, side by side.

Upstream batches rolling windows by rows and takes a full-vocabulary log-softmax of the padded
batch; it can take ~20 GB on SmolLM2-135M, so its process runs under a watchdog that kills it
above --kill-gb (default 6 GB, this machine is shared) and says so.

    python benchmarks/perplexity_memory.py --model /work/models/smollm2-135m-instruct \
        [--articles 5] [--modes bounded,upstream] [--kill-gb 6] [--context N] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW = REPO.parent / "shared" / "data" / "bmw" / "articles_500.jsonl"
GB = 2**30


def longest_articles_dir(raw: Path, n: int, out: Path) -> Path:
    """A task-data directory whose test.jsonl holds the perplexity rows of the n longest articles."""
    from ftbench.core.io import atomic_write_jsonl
    from ftbench.suites.bmw.prepare import article_id
    from ftbench.suites.bmw.schema import load_articles

    articles, _ = load_articles(raw)
    longest = sorted(articles, key=lambda a: -len(a.content))[:n]
    atomic_write_jsonl(out / "test.jsonl", [
        {"id": f"{article_id(a)}-perplexity", "article_id": article_id(a), "task": "perplexity",
         "text": a.content, "type": a.type, "url": a.url} for a in longest])
    return out


def child(mode: str, model: str, data: str, context: int | None, batch_size: int) -> None:
    """Runs in its own process: one lm-eval bmw_perplexity evaluation; prints one JSON line."""
    from ftbench.core.context import resolve_context
    from ftbench.core.lm_eval_glue import HFLM, new_task_manager, simple_evaluate
    from ftbench.core.threads import configure_threads
    from ftbench.eval.bounded_hf import BoundedHFLM

    threads = configure_threads()
    ctx = resolve_context(model, context).tokens
    cls = BoundedHFLM if mode == "bounded" else HFLM
    # the same windows for both: ours are ctx - 2 tokens, upstream's are max_length
    lm = cls(pretrained=model, max_length=ctx if mode == "bounded" else ctx - 2,
             batch_size=batch_size, device="cpu", dtype="float32")
    tm = new_task_manager(REPO / "tasks", {"bmw_data": data}, include_defaults=False)
    t0 = time.perf_counter()
    res = simple_evaluate(model=lm, tasks=["bmw_perplexity"], task_manager=tm,
                          verbosity="ERROR", bootstrap_iters=0)
    metrics = res["results"]["bmw_perplexity"]
    print("RESULT " + json.dumps({"word_perplexity": metrics["word_perplexity,none"],
                                  "seconds": time.perf_counter() - t0, "context": ctx,
                                  "window": ctx - 2, "threads": threads["torch_intra_op"]}))


def run_watched(args: list[str], kill_bytes: int) -> dict:
    """Run a child, sampling its RSS; kill it above kill_bytes. Peak RSS from wait4's rusage."""
    import psutil

    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL, text=True)
        ps, sampled, killed = psutil.Process(proc.pid), 0, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                sampled = max(sampled, ps.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
            if sampled > kill_bytes:
                proc.kill()
                killed = True
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    result = {"killed": killed, "peak_rss_gb": max(sampled, usage.ru_maxrss * 1024) / GB,
              "exit": proc.returncode}
    for line in text.splitlines():
        if line.startswith("RESULT "):
            result.update(json.loads(line[7:]))
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF model directory (e.g. SmolLM2-135M-Instruct)")
    p.add_argument("--raw", type=Path, default=RAW)
    p.add_argument("--articles", type=int, default=5)
    p.add_argument("--modes", default="bounded,upstream")
    p.add_argument("--kill-gb", type=float, default=6.0)
    p.add_argument("--context", type=int, default=None, help="default: the model's own")
    p.add_argument("--batch-size", type=int, default=8, help="lm-eval batch size (rows)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a.child, a.model, a.data, a.context, a.batch_size)
        return
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        data = longest_articles_dir(a.raw, a.articles, Path(tmp))
        rows = [json.loads(line) for line in (data / "test.jsonl").open()]
        print(f"{len(rows)} longest real articles: {[len(r['text'].split()) for r in rows]} words")
        for mode in a.modes.split(","):
            cmd = [sys.executable, __file__, "--child", mode, "--model", a.model, "--data",
                   str(data), "--batch-size", str(a.batch_size)]
            if a.context:
                cmd += ["--context", str(a.context)]
            r = run_watched(cmd, int(a.kill_gb * GB))
            state = (f"KILLED above {a.kill_gb:.1f} GB" if r["killed"] else
                     f"word perplexity {r.get('word_perplexity', float('nan')):.4f}, "
                     f"{r.get('seconds', float('nan')):.1f} s, window {r.get('window')} tokens, "
                     f"{r.get('threads')} threads" if "word_perplexity" in r else f"exit {r['exit']}")
            print(f"{mode:9s} batch {a.batch_size}: peak RSS {r['peak_rss_gb']:.2f} GB — {state}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
