"""`ftbench study` end to end on the demo config (reduced): fine-tuning helps, re-runs reuse work."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from ftbench.core.paths import CONFIGS_DIR
from ftbench.core.run_manifest import RunManifest
from ftbench.eval.results_files import completed_tasks, task_metrics
from ftbench.pipelines.study import run_study
from ftbench.pipelines.study_config import load_study_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_cfg(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("study") / "demo"
    # reuse the session's tiny model (same builder, same default settings as the demo's)
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny-llama").symlink_to(tiny_model)
    return load_study_config(CONFIGS_DIR / "demo.yaml", [
        f"out_dir={out}", "eval.tasks=[bmw_type,bmw_tags]",
    ])


def test_demo_study_fine_tuning_beats_base_and_reruns_reuse_work(demo_cfg):
    console = Console(file=io.StringIO(), width=120)
    # an interrupted study: only the first stages ran
    first = run_study(demo_cfg, ["data", "models", "train"], console)
    assert first["stages"]["train"]["status"] == "complete"
    runs = [demo_cfg.runs_dir / r.name for r in demo_cfg.train_config().runs()]
    trained_at = {r.name: (r / "manifest.json").stat().st_mtime_ns for r in runs}

    manifest = run_study(demo_cfg, None, console)
    assert all(s["status"] == "complete" for s in manifest["stages"].values())
    assert manifest["stages"]["data"]["info"]["skipped"] is True
    assert {r.name: (r / "manifest.json").stat().st_mtime_ns for r in runs} == trained_at

    res = demo_cfg.results_dir
    base = task_metrics(res / "tiny-llama-base")
    tuned = task_metrics(res / "tiny-llama-48")
    assert tuned["bmw_type"]["acc"] > base["bmw_type"]["acc"]
    assert tuned["bmw_tags"]["f1"] > base["bmw_tags"]["f1"]
    assert (demo_cfg.report_dir / "summary.md").is_file()

    # a third run redoes nothing: same results files, same training manifests
    before = {m: dict(completed_tasks(res / m)) for m in ("tiny-llama-base", "tiny-llama-48")}
    run_study(demo_cfg, None, console)
    after = {m: dict(completed_tasks(res / m)) for m in before}
    assert before == after
    index = json.loads((res / "index.json").read_text())
    assert set(index["models"]) == {"tiny-llama-base", "tiny-llama-16", "tiny-llama-48"}
    # what each model is travels with it: the run manifests, and the report reads them
    runs = {m: RunManifest.from_dict(e["spec"]["run"], m) for m, e in index["models"].items()}
    assert runs["tiny-llama-base"].role == "base" and runs["tiny-llama-base"].train_size is None
    assert {m: (r.train_size, r.base_evaluated_as) for m, r in runs.items() if r.role != "base"} \
        == {"tiny-llama-16": (16, "tiny-llama-base"), "tiny-llama-48": (48, "tiny-llama-base")}
    assert len({r.params for r in runs.values()}) == 1  # a merged LoRA keeps the base's count
    models = (demo_cfg.report_dir / "tables" / "models.csv").read_text()
    assert "train_size=run manifest" in models and "=name" not in models
