"""Study variants are a study's, not GLUE's: a domain written outside the package (the toy
domain) evaluates its base models on one task and its fine-tuned runs on another, from its config
alone; the study records which name is what for the report; bad variants name the key."""

from __future__ import annotations

import pytest
import yaml

from ftbench.core.io import InputError


def _config(root, module, **extra) -> str:
    data = {"name": "toy", "suite": str(module), "out_dir": str(root / "study"),
            "data": {"source": str(module.parent / "words.jsonl"), "sizes": [4, 8],
                     "test_size": 4, "seed": 3},
            "models": [{"name": "m", "path": str(root)}],
            "train": {"method": "lora", "backend": "peft"}, **extra}
    path = root / "toy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


VARIANTS = [{"name": "prompted", "tasks": ["toy_kind"], "models": "base"},
            {"name": "tuned", "tasks": ["toy_upper"], "models": "finetuned"}]


def test_variants_give_base_and_finetuned_models_their_own_tasks(toy, tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    cfg = load_study_config(_config(tmp_path, toy[1], variants=VARIANTS))
    assert cfg.eval.tasks == ["toy_kind", "toy_upper"]  # one invocation over both
    assert cfg.model_tasks("base", None) == ("toy_kind",)
    assert cfg.model_tasks("finetuned", None) == ("toy_upper",)
    assert cfg.parts == () and [r.name for r in cfg.runs()] == ["m-4", "m-8"]
    record = cfg.study_record()
    assert record["variants"] == VARIANTS
    assert record["models"]["m-base"] == {"model": "m", "kind": "lm", "set": "base",
                                          "part": None}
    assert record["models"]["m-8"]["set"] == "finetuned"
    from ftbench.pipelines.stage_inputs import eval_settings

    assert eval_settings(cfg).for_index("hf")["study"] == record  # kept in the index


def test_a_study_without_variants_records_nothing_new(toy, tmp_path):
    from ftbench.pipelines.stage_inputs import eval_settings
    from ftbench.pipelines.study_config import load_study_config

    cfg = load_study_config(_config(tmp_path, toy[1]))
    assert cfg.study_record() is None and cfg.model_tasks("base", None) is None
    assert "study" not in eval_settings(cfg).for_index("hf")


def test_only_base_variants_train_nothing(toy, tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    cfg = load_study_config(_config(tmp_path, toy[1], variants=VARIANTS[:1]))
    assert cfg.train_configs() == [] and cfg.runs() == []


@pytest.mark.parametrize("variants, message", [
    ([{"name": "x", "tasks": ["toy_kind"], "models": "merged"}], "variants.models"),
    ([{"name": "x", "tasks": []}], "variants.tasks"),
    ([VARIANTS[0], {**VARIANTS[1], "name": "prompted"}], "duplicate variant names"),
    ([{"name": "x", "task": ["toy_kind"]}], "unknown config key 'variants.task'"),
])
def test_bad_variants_name_the_key(toy, tmp_path, variants, message):
    from ftbench.pipelines.study_config import load_study_config

    with pytest.raises(InputError, match=message):
        load_study_config(_config(tmp_path, toy[1], variants=variants))


def test_a_suite_without_options_or_kinds_refuses_them(toy, tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    with pytest.raises(InputError, match="suite_options.*takes none"):
        load_study_config(_config(tmp_path, toy[1], suite_options={"x": 1}))
    with pytest.raises(InputError, match="knows the kinds lm; got 'encoder'"):
        load_study_config(_config(tmp_path, toy[1], models=[
            {"name": "e", "path": "minilm", "kind": "encoder"}]))
