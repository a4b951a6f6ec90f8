"""One writer per results directory: a second run waits for the first; nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from cli_helpers import REPO, cli_env, ftbench_cmd, index, metrics

from ftbench.core.io import InputError
from ftbench.core.locking import dir_lock, holder
from ftbench.eval.results_files import results_files


def test_a_held_lock_names_its_holder_and_is_released_by_a_kill(tmp_path):
    code = ("import sys, time; from ftbench.core.locking import dir_lock\n"
            f"with dir_lock({str(tmp_path)!r}, 'ftbench eval (test holder)'):\n"
            "    print('held', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=cli_env(), cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with (pytest.raises(InputError, match=rf"in use by pid {proc.pid}: ftbench eval"),
              dir_lock(tmp_path, "second", wait=False)):
            pass
        assert f"pid {proc.pid}" in holder(tmp_path)
    finally:
        proc.kill()  # kill -9: the kernel drops the lock with the process
        proc.wait()
    with dir_lock(tmp_path, "third", wait=False):
        assert holder(tmp_path).startswith(f"pid {__import__('os').getpid()}: third")


@pytest.mark.slow
def test_two_evals_on_one_out_lose_nothing(tmp_path, tiny_model, tiny_other):
    """Both runs start while the directory is busy, so they really contend for it; each must
    wait (saying so), then run one after the other; m2, in both, is evaluated once."""
    res = tmp_path / "results"
    common = ["--out", res, "--tasks", "bmw_perplexity", "--limit", "2", "--backend", "hf"]
    logs = [tmp_path / "first.err", tmp_path / "second.err"]
    with dir_lock(res, "the test, holding the directory until both runs wait"):
        procs = [subprocess.Popen(ftbench_cmd("eval", "--models", models, *common),
                                  env=cli_env(), stdout=subprocess.DEVNULL,
                                  stderr=log.open("w"))
                 for models, log in ((f"m1={tiny_model},m2={tiny_other}", logs[0]),
                                     (f"m2={tiny_other},m3={tiny_model}", logs[1]))]
        deadline = time.monotonic() + 600
        while not all("waiting" in log.read_text() for log in logs):
            assert all(p.poll() is None for p in procs), [log.read_text() for log in logs]
            assert time.monotonic() < deadline
            time.sleep(0.2)
    for p in procs:
        p.wait(timeout=900)
    errs = [log.read_text() for log in logs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errs]
    assert all("the test, holding the directory" in e for e in errs)
    models = index(res)["models"]
    assert {m: e["status"] for m, e in models.items()} == {
        "m1": "complete", "m2": "complete", "m3": "complete"}
    assert len(results_files(res / "m2")) == 1, "m2 was evaluated once and reused once"
    assert metrics(res, "m1") == metrics(res, "m3") != metrics(res, "m2")
