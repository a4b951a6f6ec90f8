"""Model cards of a run's `merged/` and `adapter/` folders parse as Hub metadata (issue 25):
base_model as the config names it (a local path made absolute), library_name per folder, tags
with the method and the data's suite, datasets where the data came from the hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from ftbench.core.io import atomic_write_text
from ftbench.train.model_card import base_model_ref, write_model_cards


def _manifest(base_model: str, train_file: Path, method: str = "lora") -> dict:
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"}
    return {
        "run": "m-16", "base_model": base_model, "base_model_revision": None, "train_size": 16,
        "backend": "peft", "loss_mask": "assistant", "steps": 4,
        "config": {"method": method, "learning_rate": 3e-3, "epochs": 1, "max_steps": 4,
                   "batch_size": 2, "grad_accum": 1, "max_seq_length": 320,
                   "lr_scheduler": "linear", "warmup_ratio": 0.0, "weight_decay": 0.0,
                   "seed": 0, "lora": lora},
        "data": {"file": str(train_file), "sha256": "ab" * 32, "train_rows": 40, "eval_rows": 8,
                 "eval_articles": 2},
        "parameters": {"trainable": 10, "total": 1000, "trainable_pct": 1.0},
        "eval_loss": {"before": 2.5, "after": None},
        "timing": {"wall_s": 3.0, "tokens_per_s": 100.0},
    }


def _run(tmp_path: Path, source: dict, suite: str | None = "bmw") -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"source": source,
                                                    **({"suite": suite} if suite else {})}))
    run = tmp_path / "run"
    for folder in ("merged", "adapter"):
        (run / folder).mkdir(parents=True)
    (run / "adapter" / "README.md").write_text("---\nlibrary_name: peft\n---\n[More Information "
                                               "Needed]\n")  # what peft's save_pretrained leaves
    return run, data / "train_16.jsonl"


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_both_folders_get_a_hub_card_with_the_hub_base_and_dataset(tmp_path, method):
    run, train = _run(tmp_path, {"path": str(tmp_path / "s" / "raw" / "Org__bmw-articles.jsonl")})
    write_model_cards(run, _manifest("Qwen/Qwen3-0.6B", train, method), atomic_write_text)
    for folder, library in (("merged", "transformers"), ("adapter", "peft")):
        card = ModelCard.load(run / folder / "README.md")
        assert card.data.base_model == "Qwen/Qwen3-0.6B"
        assert card.data.library_name == library
        assert card.data.tags == ["ftbench", method, "bmw"]
        assert card.data.datasets == ["Org/bmw-articles"]
        assert "| learning_rate | 0.003 |" in card.text and "| lora_r | 4 |" in card.text
        assert "eval loss after training: n/a" in card.text
    assert "More Information Needed" not in (run / "adapter" / "README.md").read_text()


def test_a_local_base_is_named_by_its_absolute_path_and_unknowns_are_left_out(tmp_path,
                                                                              monkeypatch):
    run, train = _run(tmp_path, {"path": str(tmp_path / "raw.jsonl")}, suite=None)
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    write_model_cards(run, _manifest("models/tiny", train), atomic_write_text)
    card = ModelCard.load(run / "merged" / "README.md")
    assert card.data.base_model == str((tmp_path / "models" / "tiny").resolve())
    assert card.data.datasets is None and card.data.tags == ["ftbench", "lora"]
    # an alias or a hub id is kept as the config gives it
    assert base_model_ref("smollm2") == "smollm2"
    assert base_model_ref("HuggingFaceTB/SmolLM2-135M-Instruct") == \
        "HuggingFaceTB/SmolLM2-135M-Instruct"


def _hub_results(card) -> dict[tuple[str, str], float]:
    return {(r.dataset_name, r.metric_type): r.metric_value for r in card.data.eval_results or []}


def test_a_studys_evaluated_runs_carry_their_results_in_both_cards(finished_study):
    """After the eval stage each run's cards hold a model-index equal to its results files."""
    from ftbench.eval.results_files import task_metrics

    cfg = finished_study.cfg
    for run in cfg.runs():
        manifest = json.loads((cfg.runs_dir / run.name / "manifest.json").read_text())
        expected = {(task, metric): value
                    for task, values in task_metrics(cfg.results_dir / run.name).items()
                    for metric, value in values.items() if not metric.endswith("_stderr")}
        assert expected
        for folder, library in (("merged", "transformers"), ("adapter", "peft")):
            card = ModelCard.load(cfg.runs_dir / run.name / folder / "README.md")
            assert card.data.base_model == base_model_ref(manifest["base_model"])
            assert Path(card.data.base_model).is_absolute()  # a local base: never relative
            assert card.data.library_name == library and "ftbench" in card.data.tags
            assert card.data.model_name == run.name
            assert _hub_results(card) == pytest.approx(expected)
            assert "## Evaluation" in card.text


def test_rewriting_a_card_changes_no_model_identity(finished_study, tmp_path):
    """README.md is no part of a model's fingerprint: results written into the card neither
    retrain the run nor make its evaluation stale."""
    import shutil

    from ftbench.core.fingerprint import model_fingerprint
    from ftbench.train.grid import stale_reason
    from ftbench.train.model_card import add_results

    source = finished_study.cfg.runs_dir / finished_study.cfg.runs()[0].name
    run = tmp_path / source.name
    shutil.copytree(source, run)
    before = model_fingerprint(str(run / "merged"))["digest"]
    fingerprint = json.loads((run / "manifest.json").read_text())["fingerprint"]
    assert add_results(run, {"some_task": {"acc": 0.625, "acc_stderr": 0.1}}) == [
        run / "merged" / "README.md", run / "adapter" / "README.md"]
    card = ModelCard.load(run / "merged" / "README.md")
    assert _hub_results(card) == {("some_task", "acc"): 0.625}
    assert model_fingerprint(str(run / "merged"))["digest"] == before
    assert stale_reason(run, fingerprint) is None
