"""The study's tiny model pre-trains on the study's own train split: no test article, any seed.

The leak this guards against: the model used to pre-train on the bundled sample's split made with
seed 42, so a study with `data.seed: 7` had 10 of its 16 test articles in the pre-training text.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from ftbench.core.io import InputError, read_jsonl, sha256_file
from ftbench.pipelines.study import run_study
from ftbench.pipelines.study_config import load_study_config
from ftbench.suites.bmw.prepare import content_key, prepare_file, write_prepared
from ftbench.suites.bmw.pretraining import prepared_split_data, sample_split_data
from ftbench.suites.bmw.resources import SAMPLE_CORPUS
from ftbench.suites.bmw.schema import load_articles
from ftbench.train.tiny_model import load_manifest


def _held_out(prepared: Path) -> list:
    """The raw articles of the prepared test split (by article id)."""
    from ftbench.suites.bmw.prepare import article_id

    ids = {r["article_id"] for r in read_jsonl(prepared / "test.jsonl")}
    articles, _ = load_articles(SAMPLE_CORPUS)
    held = [a for a in articles if article_id(a) in ids]
    assert len(held) == len(ids) == 16
    return held


def _overlap(held_out: list, texts: list[str]) -> int:
    """Test articles whose content (or a whitespace/case variant of it) is in a pre-training text."""
    keys = {content_key(t.split("\n\n", 2)[2]) for t in texts}  # title, summary, content
    return sum(any(a.content in t for t in texts) or content_key(a.content) in keys
               for a in held_out)


def _prepare(root: Path, seed: int) -> Path:
    out = root / f"seed{seed}"
    write_prepared(prepare_file(SAMPLE_CORPUS, sizes=(16, 48), test_size=16, seed=seed,
                                max_input_words=40), out)
    return out


@pytest.mark.parametrize("seed", [7, 42])
def test_prepared_split_texts_hold_no_test_article(tmp_path, seed):
    prepared = _prepare(tmp_path, seed)
    held = _held_out(prepared)
    data = prepared_split_data(prepared)
    assert _overlap(held, data.texts) == 0
    assert data.record["articles"] == 48 == json.loads(
        (prepared / "manifest.json").read_text())["articles"]["train"]
    # every train article of the largest training file is among the pre-training texts
    trained = {r["article_id"] for r in read_jsonl(prepared / "train_48.jsonl")}
    assert len(trained) == 48
    assert data.record["test_file"]["sha256"] == sha256_file(prepared / "test.jsonl")
    assert data.record["source"]["sha256"] == sha256_file(SAMPLE_CORPUS)
    # the bundled sample split (the old, fixed pre-training data) leaks for seed 7 only
    assert (_overlap(held, sample_split_data(SAMPLE_CORPUS).texts) > 0) == (seed != 42)


def test_a_changed_source_is_refused(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(SAMPLE_CORPUS.read_bytes())
    prepared = tmp_path / "p"
    write_prepared(prepare_file(raw, sizes=(16,), test_size=16, seed=7), prepared)
    raw.write_text("\n".join(raw.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(InputError, match="changed since"):
        prepared_split_data(prepared)


def _config(root: Path) -> Path:
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump({
        "name": "leak", "out_dir": str(root / "study"),
        "data": {"source": str(SAMPLE_CORPUS), "sizes": [16], "test_size": 16, "seed": 7},
        "models": [{"name": "tiny", "path": "tiny", "tiny_pretrain_steps": 2}],
        "train": {"method": "lora", "backend": "peft", "max_steps": 1},
        "eval": {"tasks": ["bmw_type"]},
    }))
    return path


@pytest.mark.slow  # builds two 2-step tiny models
def test_study_tiny_model_pretrains_on_the_studys_split_and_rebuilds_on_a_new_seed(
        tmp_path, tiny_model_quick):
    console = Console(file=io.StringIO(), width=120)
    config = _config(tmp_path)
    # a model built like the test fixture (bundled sample split, seed 42 / 16 test articles),
    # linked into the study as the suite's tests do: the session's 2-step model
    prebuilt = tiny_model_quick
    assert load_manifest(prebuilt)["config"]["pretrain_steps"] == 2  # the study's steps
    prebuilt_sha = sha256_file(prebuilt / "model.safetensors")
    link = tmp_path / "study" / "models" / "tiny"
    link.parent.mkdir(parents=True)
    link.symlink_to(prebuilt)

    def study(seed: int) -> tuple[dict, Path]:
        cfg = load_study_config(config, [f"data.seed={seed}"])
        info = run_study(cfg, ["data", "models"], console)["stages"]["models"]["info"]
        return info, cfg

    info, cfg = study(42)  # same pre-training texts: the linked model is reused
    assert info == {"tiny": "skipped"} and link.is_symlink()
    built = {}
    for seed in (7, 42):
        info, cfg = study(seed)
        assert info == {"tiny": "built"}  # the other seed's split made a new model
        model = Path(cfg.model_path(cfg.models[0]))
        record = load_manifest(model)["pretraining_data"]
        data = prepared_split_data(cfg.data_dir)  # the texts it was pre-trained on
        assert record["texts_sha256"] == data.record["texts_sha256"]
        assert record["test_file"]["sha256"] == sha256_file(cfg.data_dir / "test.jsonl")
        assert _overlap(_held_out(cfg.data_dir), data.texts) == 0
        built[seed] = sha256_file(model / "model.safetensors")
        assert study(seed)[0] == {"tiny": "skipped"}  # the same study again reuses it
        assert sha256_file(model / "model.safetensors") == built[seed]
    assert built[7] != built[42]
    # rebuilt in the study, never through the link into the other directory
    assert not link.is_symlink() and sha256_file(prebuilt / "model.safetensors") == prebuilt_sha
