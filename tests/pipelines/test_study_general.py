"""Study config pieces of the forgetting setup: per-model training methods, general_small data."""

from __future__ import annotations

import pytest

from ftbench.core.io import InputError
from ftbench.core.paths import CONFIGS_DIR
from ftbench.pipelines.study_config import general_metadata, load_study_config

DEMO = CONFIGS_DIR / "demo.yaml"


def test_a_model_may_override_the_training_method():
    cfg = load_study_config(DEMO, ["models=[{name: a, path: org/m}, {name: b, path: org/m, "
                                   "method: qlora}, {name: c, path: org/n}]"])
    grids = [(c.method, [r.name for r in c.runs()]) for c in cfg.train_configs()]
    assert grids == [("lora", ["a-16", "a-48", "c-16", "c-48"]), ("qlora", ["b-16", "b-48"])]
    assert [r.name for r in cfg.runs()] == ["a-16", "a-48", "c-16", "c-48", "b-16", "b-48"]
    with pytest.raises(InputError, match="train_configs"):
        cfg.train_config()  # one grid per method: the single-grid accessor refuses
    # org/m is evaluated once as a base, although two models train from it
    assert [s.pretrained for s in cfg.model_specs()] == ["org/m", "org/n"]
    assert [s.name for s in cfg.model_specs()] == ["a-base", "c-base"]


def test_duplicate_model_names_across_methods_are_refused():
    with pytest.raises(InputError, match="duplicate run names"):
        load_study_config(DEMO, ["models=[{name: a, path: org/m}, {name: a, path: org/m, "
                                 "method: qlora}]"])


def test_general_data_reaches_the_task_metadata(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gen").mkdir()
    cfg = load_study_config(DEMO, ["eval.general_data=gen", "eval.general_n=50"])
    assert general_metadata(cfg.eval) == {"general_data": str(tmp_path / "gen"), "general_n": 50}
    assert general_metadata(load_study_config(DEMO, ["eval.general_data=sample"]).eval) == \
        {"general_data": "sample"}
    # the demo reads the bundled fixtures; without the key: the hub, every item
    assert general_metadata(load_study_config(DEMO).eval) == {"general_data": "sample"}
    assert general_metadata(load_study_config(DEMO, ["eval.general_data=null"]).eval) == {}



def test_eval_metadata_carries_the_study_data_to_the_tasks(tmp_path):
    """`ftbench study` and `ftbench eval --study` both pass this to the tasks."""
    cfg = load_study_config(DEMO, [f"out_dir={tmp_path}", "eval.general_data=sample"])
    assert cfg.eval_metadata() == {"bmw_data": str((tmp_path / "data").resolve()),
                                   "general_data": "sample"}
