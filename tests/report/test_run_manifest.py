"""The typed run manifest: checked reading, and the report reading facts from it, not names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_synthetic import context

from ftbench.core.io import InputError
from ftbench.core.run_manifest import (
    VERSION,
    RunManifest,
    base_manifest,
    model_family,
    read_run_manifest,
)
from ftbench.report.loading import load
from ftbench.report.pairing import default_base, pair_bases

TUNED = RunManifest(role="fine-tuned", base_model="x", base_model_path="/models/x",
                    family="llama", params=134_515_008, method="lora", train_size=16,
                    run="base-like-2000", trainable_params=921_600, final_train_loss=2.5,
                    eval_loss_before=3.1, eval_loss_after=2.7, base_evaluated_as="x")


def test_round_trip_and_checked_reading():
    assert RunManifest.from_dict(json.loads(json.dumps(TUNED.to_dict())), "here") == TUNED
    assert TUNED.to_dict()["version"] == VERSION and TUNED.params_b == pytest.approx(0.1345, 1e-3)
    bad = {**TUNED.to_dict(), "version": 0}
    with pytest.raises(InputError, match="here: run manifest version 0 is not 1"):
        RunManifest.from_dict(bad, "here")
    with pytest.raises(InputError, match="here: run manifest key 'train_size' must be int"):
        RunManifest.from_dict({**TUNED.to_dict(), "train_size": "2000"}, "here")
    with pytest.raises(InputError, match="key 'size' is unknown"):
        RunManifest.from_dict({**TUNED.to_dict(), "size": 3}, "here")
    with pytest.raises(InputError, match="needs method and train_size"):
        RunManifest.from_dict({**TUNED.to_dict(), "train_size": None}, "here")


def test_base_manifest_reads_the_model_itself(tiny_model):
    typed = base_manifest("tiny", str(tiny_model))
    assert typed.role == "base" and typed.family == "llama" == model_family(tiny_model)
    assert 700_000 < typed.params < 800_000  # the 0.75 M tiny model, from its safetensors header
    assert typed.train_size is None and typed.method is None


def test_run_directory_without_typed_block_reads_as_none(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "ftbench-train-run"}))
    assert read_run_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"run_manifest": TUNED.to_dict()}))
    assert read_run_manifest(tmp_path) == TUNED


# --- a study whose names would mislead every name pattern -------------------------------------


def _results(model_dir: Path, acc: float) -> None:
    model_dir.mkdir(parents=True)
    (model_dir / "results_2026-01-01T00-00-00.json").write_text(json.dumps({"results": {
        "bmw_type": {"acc,none": acc}, "bmw_tags": {"f1,none": acc / 2}}}))


def misleading_study(root: Path) -> Path:
    """Base `x`; fine-tuned `base-like-2000` (16 articles) and `qwen-7b-500` (48 articles), both
    from `x`; and `other-base` fine-tuned from a base `y` the study did not evaluate."""
    base = RunManifest(role="base", base_model="x", base_model_path="/models/x", family="llama",
                       params=134_515_008)
    other = RunManifest(role="fine-tuned", base_model="y", base_model_path="/models/y",
                        family="gemma3_text", params=268_098_176, method="qlora", train_size=32,
                        run="other-base")
    models = {"x": (base, 0.3), "base-like-2000": (TUNED, 0.6),
              "qwen-7b-500": (TUNED.__class__(**{**TUNED.to_dict(), "train_size": 48,
                                                 "run": "qwen-7b-500"}), 0.7),
              "other-base": (other, 0.5)}
    index = {"models": {}}
    for name, (typed, acc) in models.items():
        _results(root / name, acc)
        index["models"][name] = {"status": "complete", "dir": name, "tasks": {},
                                 "spec": {"name": name, "pretrained": f"/nowhere/{name}",
                                          "run": typed.to_dict()}}
    (root / "index.json").write_text(json.dumps(index))
    return root


def test_pairs_and_facts_come_from_the_manifests_not_the_names(tmp_path):
    data = load(misleading_study(tmp_path))
    t = data.table.set_index("model")
    # names say 2000 / 500 articles, 7b parameters, family "Qwen", "base" in a fine-tuned name
    assert t.at["base-like-2000", "train_size"] == 16 and t.at["qwen-7b-500", "train_size"] == 48
    assert t.at["qwen-7b-500", "params_b"] == pytest.approx(0.134515008)
    assert t.at["qwen-7b-500", "family"] == "llama" and t.at["other-base", "family"] == "gemma3_text"
    assert t.at["qwen-7b-500", "method"] == "lora" and t.at["x", "method"] == "base"
    assert t.at["base-like-2000", "base_model"] == "x" and t.loc["x", "train_size"] != t.loc[
        "x", "train_size"]  # NaN: a base has no train size
    assert all("name" not in src for src in t["meta_source"])
    assert not [n for n in data.notes if "guessed" in n or "chosen by name" in n]

    ctx = context(data)
    assert default_base(ctx) == "x"
    ctx.shared.base = default_base(ctx)
    pairs, unmatched = pair_bases(ctx)
    assert pairs == {"base-like-2000": "x", "qwen-7b-500": "x"}
    assert unmatched == ["other-base"]  # its base y was not evaluated: never paired with x


def test_without_manifests_names_decide_and_the_notes_say_so(tmp_path):
    """The same study from an older ftbench (no spec.run): the old name patterns, noted."""
    root = misleading_study(tmp_path)
    index = json.loads((root / "index.json").read_text())
    for entry in index["models"].values():
        entry["spec"].pop("run")
    (root / "index.json").write_text(json.dumps(index))
    data = load(root)
    assert data.table.set_index("model").at["base-like-2000", "train_size"] == 2000  # the guess
    notes = " | ".join(data.notes)
    assert "train_size guessed from the model name for base-like-2000, qwen-7b-500" in notes
    assert "chosen by name ('base' in it)" in notes
    assert default_base(context(data)) == "base-like-2000"  # what a name guess gets wrong


def test_flat_csv_still_works_and_says_its_facts_are_guessed(peer_csv):
    data = load(peer_csv)
    assert data.kind == "csv" and data.table["train_size"].notna().any()
    notes = " | ".join(data.notes)
    assert "guessed from the model name" in notes and "no run manifest" in notes


def test_a_bad_manifest_in_a_study_stops_with_the_model_and_key(tmp_path):
    root = misleading_study(tmp_path)
    index = json.loads((root / "index.json").read_text())
    index["models"]["x"]["spec"]["run"]["version"] = 2
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="model x: spec.run: run manifest version 2"):
        load(root)
