"""Grids: models × sizes from one config, resume after completion, a kill, and a failing run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftbench.cli.train import train_main
from ftbench.core.io import InputError

REPO = Path(__file__).resolve().parents[2]


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def _mtimes(out: Path, names: list[str]) -> dict[str, int]:
    return {n: (out / n / "manifest.json").stat().st_mtime_ns for n in names}


@pytest.fixture(scope="module")
def second_model(tiny_model, tmp_path_factory) -> Path:
    """A second model directory (a copy: a different path and name is all a grid needs here)."""
    return Path(shutil.copytree(tiny_model, tmp_path_factory.mktemp("models") / "tiny-b"))


def test_two_models_by_two_sizes_then_rerun_skips_everything(
        tmp_path, make_config, tiny_model, second_model, sample_prepared):
    out = tmp_path / "runs"
    path = make_config(tmp_path / "grid.yaml", output_dir=str(out), data_dir=str(sample_prepared),
                       max_steps=2, eval_fraction=0.1,
                       grid={"models": [{"path": str(tiny_model), "name": "tiny-a"},
                                        str(second_model)], "sizes": [16, 32]})
    assert train_main(path, []) == 0
    names = ["tiny-a-16", "tiny-a-32", "tiny-b-16", "tiny-b-32"]
    index = json.loads((out / "grid_index.json").read_text())
    assert sorted(index["runs"]) == names
    for name in names:
        m = _manifest(out / name)
        assert m["status"] == "complete" and index["runs"][name]["action"] == "trained"
        assert m["train_size"] == int(name.rsplit("-", 1)[1]) and m["data"]["articles"] == m["train_size"]
    assert _manifest(out / "tiny-b-32")["base_model"] == str(second_model)
    before = _mtimes(out, names)

    assert train_main(path, []) == 0  # the rerun: nothing trained (no timing in a unit test)
    assert _mtimes(out, names) == before
    index = json.loads((out / "grid_index.json").read_text())
    assert all(index["runs"][n]["action"] == "skipped" for n in names)


def test_a_failing_run_is_recorded_and_the_others_finish(
        tmp_path, make_config, tiny_model, sample_prepared):
    out = tmp_path / "runs"
    models = [{"path": str(tmp_path / "no-such-model"), "name": "broken"},
              {"path": str(tiny_model), "name": "tiny"}]
    path = make_config(tmp_path / "grid.yaml", output_dir=str(out), data_dir=str(sample_prepared),
                       max_steps=2, grid={"models": models, "sizes": [16]})
    # a model path that does not exist is bad input: named before anything is written
    with pytest.raises(InputError, match="no-such-model' not found"):
        train_main(path, [])
    assert not out.exists()
    broken_dir = tmp_path / "no-such-model"  # now it exists, but is no model: the run fails
    broken_dir.mkdir()
    (broken_dir / "config.json").write_text('{"model_type": "not-a-model"}')
    assert train_main(path, []) == 1
    index = json.loads((out / "grid_index.json").read_text())
    assert index["runs"]["tiny-16"]["status"] == "complete"
    broken = index["runs"]["broken-16"]
    assert broken["status"] == "failed" and "Error" in broken["error"]
    m = _manifest(out / "broken-16")
    assert m["status"] == "failed" and m["traceback"] and sorted(os.listdir(out / "broken-16")) == [
        "manifest.json"]

    done = _mtimes(out, ["tiny-16"])
    assert train_main(path, []) == 1  # the failed run is tried again, the finished one skipped
    assert _mtimes(out, ["tiny-16"]) == done
    assert json.loads((out / "grid_index.json").read_text())["runs"]["broken-16"]["status"] == "failed"


@pytest.mark.slow
def test_a_killed_grid_resumes_without_losing_finished_runs(
        tmp_path, make_config, tiny_model, sample_prepared):
    out = tmp_path / "runs"
    path = make_config(tmp_path / "grid.yaml", output_dir=str(out), data_dir=str(sample_prepared),
                       max_steps=3, eval_fraction=0.1,
                       grid={"models": [{"path": str(tiny_model), "name": "tiny"}],
                             "sizes": [16, 48, 32]})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "ftbench.cli.train", str(path)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = out / "tiny-16" / "manifest.json"
    deadline = time.monotonic() + 240
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.exists(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert _manifest(out / "tiny-16")["status"] == "complete"
    assert not (out / "tiny-48" / "manifest.json").exists()  # killed mid-run: nothing of it kept
    assert not (out / "tiny-32").exists()
    done = _mtimes(out, ["tiny-16"])

    assert train_main(path, []) == 0
    assert _mtimes(out, ["tiny-16"]) == done
    index = json.loads((out / "grid_index.json").read_text())
    assert index["runs"]["tiny-16"]["action"] == "skipped"
    assert index["runs"]["tiny-48"]["action"] == index["runs"]["tiny-32"]["action"] == "trained"
    # staging dirs cleaned up; .ftbench (ownership marker, lock) stays
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".ftbench"]
