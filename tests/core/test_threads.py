"""torch threads from the CPUs the process may use; explicit settings and OMP_NUM_THREADS win."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.core.io import InputError
from ftbench.core.threads import allowed_cpus, cgroup_cpu_quota, thread_count, vllm_cpu_binding

REPO = Path(__file__).resolve().parents[2]


def test_precedence_setting_then_env_then_allowed_cpus(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_count(1) == (1, "setting")
    assert thread_count() == (3, "OMP_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_count() == allowed_cpus()
    assert allowed_cpus()[0] == min(len(os.sched_getaffinity(0)),
                                    cgroup_cpu_quota() or len(os.sched_getaffinity(0)))


def test_bad_values_are_input_errors(monkeypatch):
    with pytest.raises(InputError, match="positive"):
        thread_count(0)
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    with pytest.raises(InputError, match="OMP_NUM_THREADS"):
        thread_count()


@pytest.mark.parametrize(("text", "expected"), [("max 100000", None), ("150000 100000", 2),
                                                ("50000 100000", 1), ("400000 100000", 4)])
def test_cgroup_quota(tmp_path, text, expected):
    f = tmp_path / "cpu.max"
    f.write_text(text + "\n")
    assert cgroup_cpu_quota(f) == expected
    assert cgroup_cpu_quota(tmp_path / "absent") is None


def test_vllm_binding_lists_allowed_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    assert vllm_cpu_binding(1) == str(cpus[0])
    assert vllm_cpu_binding(len(cpus) + 5) == ",".join(map(str, cpus))


def _threads_in_fresh_process(env: dict, requested: int | None) -> dict:
    code = ("import json, torch; from ftbench.core.threads import configure_threads; "
            f"r = configure_threads({requested!r}); "
            "print(json.dumps({**r, 'actual': torch.get_num_threads()}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_configure_sets_and_records_torch_threads():
    """Real processes: torch ends up with the threads the record says, from the stated source."""
    base = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), *sys.path])
    r = _threads_in_fresh_process(base, None)
    assert r["actual"] == r["torch_intra_op"] == allowed_cpus()[0]
    assert r["source"] == allowed_cpus()[1]
    r = _threads_in_fresh_process({**base, "OMP_NUM_THREADS": "1"}, None)
    assert r["actual"] == 1 and r["source"] == "OMP_NUM_THREADS" and r["omp_num_threads_env"] == "1"
    r = _threads_in_fresh_process({**base, "OMP_NUM_THREADS": "1"}, 3)
    assert r["actual"] == 3 and r["source"] == "setting"


def _run(code: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.strip().splitlines()[-1]


def test_cli_prefers_passive_omp_wait_before_torch_loads():
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), *sys.path])
    via_cli = ("import os\nfrom ftbench.cli.main import main\ntry:\n    main(['--help'])\n"
               "except SystemExit:\n    pass\nprint(os.environ.get('OMP_WAIT_POLICY'))")
    assert _run(via_cli, base) == "PASSIVE"
    assert _run(via_cli, {**base, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"  # the user's choice
    # too late once torch (and its libgomp) is loaded: nothing is set, and the record says so
    late = ("import torch\nfrom ftbench.core.threads import configure_threads, "
            "prefer_passive_omp_wait\nprint(prefer_passive_omp_wait(), "
            "configure_threads(1)['omp_wait_policy'].replace(' ', '_'))")
    assert _run(late, base) == "None libgomp_default_(spin)"
