"""LoRA, QLoRA and full fine-tuning runs end to end on the tiny model: files, numbers, exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ftbench.cli.train import train_main
from ftbench.core.run_manifest import base_manifest, read_run_manifest

PROMPT = [{"role": "system", "content": "You classify BMW news articles."},
          {"role": "user", "content": "Identify the type: The BMW Group delivered 1.2 million cars."}]


@pytest.fixture(scope="module")
def run(tmp_path_factory, make_config, tiny_model, sample_prepared):
    """`run(name, **keys)`: one training run of 16 sample articles; returns its run directory."""

    def _run(name: str, **keys) -> Path:
        root = tmp_path_factory.mktemp(name)
        path = make_config(root / "train.yaml", base_model=str(tiny_model), model_name=name,
                           train_size=16, data_dir=str(sample_prepared),
                           output_dir=str(root / "runs"), **keys)
        assert train_main(path, []) == 0
        return root / "runs" / f"{name}-16"

    return _run


@pytest.fixture(scope="module")
def lora_run(run) -> Path:
    return run("lora", max_steps=10, eval_steps=5)


@pytest.fixture(scope="module")
def qlora_run(run) -> Path:
    return run("qlora", method="qlora", max_steps=4, max_seq_length=256, eval_fraction=0.1)


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)
    with torch.no_grad():
        return model(**ids).logits


def _generate(model_dir: Path) -> str:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)
    out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]
    return tok.decode(out[0, ids["input_ids"].shape[1]:])


def test_lora_run_writes_every_artefact(lora_run, tiny_model, sample_prepared):
    for rel in ("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                "merged/model.safetensors", "merged/tokenizer.json", "merged/README.md",
                "history.json", "loss_curve.png", "manifest.json"):
        assert (lora_run / rel).is_file(), rel
    m = _manifest(lora_run)
    assert m["status"] == "complete" and m["method"] == "lora" and m["backend"] == "peft"
    assert m["loss_mask"] == "assistant" and m["train_size"] == 16 and m["steps"] == 10
    assert m["data"]["sha256"] == json.loads(
        (sample_prepared / "manifest.json").read_text())["files"]["train_16.jsonl"]
    p = m["parameters"]
    assert 0 < p["trainable"] < p["total"] and 0 < p["trainable_pct"] < 100
    typed = read_run_manifest(lora_run)  # the typed block the study and the report read
    assert (typed.role, typed.method, typed.train_size, typed.run) == ("fine-tuned", "lora", 16,
                                                                       "lora-16")
    assert typed.base_model == "lora" and typed.base_model_path == str(Path(tiny_model).resolve())
    assert typed.family == "llama" and typed.trainable_params == p["trainable"]
    # the merged checkpoint has the base's parameters: peft's total minus the adapter
    assert typed.params == p["total"] - p["trainable"] == base_manifest("t", str(tiny_model)).params
    assert typed.eval_loss_after == m["eval_loss"]["after"]
    assert m["timing"]["tokens_per_s"] > 0 and m["timing"]["wall_s"] > m["timing"]["train_s"]
    assert m["memory"]["peak_rss_mb"] > 100 and m["versions"]["trl"] and m["config"]["lora"]["r"] == 4
    card = (lora_run / "merged" / "README.md").read_text()
    for text in (str(tiny_model), "lora", "16 articles", m["data"]["sha256"], "learning_rate"):
        assert text in card
    history = json.loads((lora_run / "history.json").read_text())
    assert [e["step"] for e in history["eval"]] == [0, 5, 10]
    assert [t["step"] for t in history["train"]] == [2, 4, 6, 8, 10]
    assert (lora_run / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(lora_run.parent.glob(".*tmp*")) and not (lora_run / "trainer").exists()


@pytest.mark.parametrize("which", ["lora", "qlora"])
def test_trained_runs_carry_hub_model_cards_in_both_folders(which, lora_run, qlora_run,
                                                           tiny_model):
    """`huggingface_hub.ModelCard` reads each card's metadata: the base as the config named it
    (the local tiny model: its absolute path), transformers for merged/, peft for adapter/ (not
    peft's empty template), the method and the data's suite as tags."""
    from huggingface_hub import ModelCard

    run_dir = lora_run if which == "lora" else qlora_run
    for folder, library in (("merged", "transformers"), ("adapter", "peft")):
        card = ModelCard.load(run_dir / folder / "README.md")
        assert card.data.base_model == str(Path(tiny_model).resolve()), folder
        assert card.data.library_name == library
        assert card.data.tags[:2] == ["ftbench", which]
        assert "## Training settings" in card.text and "| lora_r | 4 |" in card.text


def test_lora_lowers_the_held_out_loss(lora_run):
    m = _manifest(lora_run)
    assert m["eval_loss"]["after"] < m["eval_loss"]["before"]
    assert m["final_train_loss"] is not None


def test_merged_model_equals_base_plus_adapter(lora_run, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(lora_run / "merged")
    merged = AutoModelForCausalLM.from_pretrained(lora_run / "merged").eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(base, lora_run / "adapter").eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    a, b = _logits(merged, tok), _logits(with_adapter, tok)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()
    assert not torch.allclose(a, _logits(plain, tok), atol=1e-4)  # the adapter did change it
    assert isinstance(_generate(lora_run / "merged"), str)
    parity = _manifest(lora_run)["merge_parity"]  # the run measured the same thing itself
    assert parity["ok"] and parity["dtype"] == "float32" and parity["prompts"] >= 1
    assert parity["max_abs_logit_diff"] <= parity["tolerance"] == 1e-3
    assert parity["greedy_tokens_equal"] == parity["greedy_tokens"] > 0


def test_full_fine_tuning_trains_every_parameter(run):
    run_dir = run("full", method="full", max_steps=3, learning_rate=1e-4)
    m = _manifest(run_dir)
    assert m["parameters"]["trainable"] == m["parameters"]["total"]
    assert m["merge_parity"] is None  # nothing was merged
    assert m["outputs"]["adapter"] is None and not (run_dir / "adapter").exists()
    assert isinstance(_generate(run_dir / "merged"), str)


@pytest.mark.slow
def test_qlora_run_exports_a_full_precision_merged_model(qlora_run):
    from transformers import AutoModelForCausalLM

    m = _manifest(qlora_run)
    assert m["status"] == "complete" and m["method"] == "qlora" and m["steps"] == 4
    assert m["quantization"]["quant_type"] == "nf4" and m["train_dtype"] == "float32"
    assert m["eval_loss"]["before"] is not None and m["eval_loss"]["after"] is not None
    adapter_cfg = json.loads((qlora_run / "adapter" / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 4
    model = AutoModelForCausalLM.from_pretrained(qlora_run / "merged")
    assert next(model.parameters()).dtype == torch.float32
    assert not any("Params4bit" in type(p).__name__ for p in model.parameters())
    assert isinstance(_generate(qlora_run / "merged"), str)


@pytest.mark.slow
def test_lm_eval_evaluates_the_merged_checkpoints(lora_run, qlora_run):
    import lm_eval
    from lm_eval.tasks import TaskManager

    from ftbench.core.paths import TASKS_DIR

    tm = TaskManager(include_path=str(TASKS_DIR))
    for run_dir in (lora_run, qlora_run):
        out = lm_eval.simple_evaluate(
            model="hf", model_args={"pretrained": str(run_dir / "merged"), "device": "cpu"},
            tasks=["bmw_type"], limit=2, task_manager=tm)
        res = out["results"]["bmw_type"]
        assert res["sample_len"] == 2 and 0.0 <= res["acc,none"] <= 1.0


def test_shipped_tiny_config_runs_with_overrides(tmp_path, tiny_model, sample_prepared):
    from ftbench.core.paths import CONFIGS_DIR

    overrides = [f"base_model={tiny_model}", f"data_dir={sample_prepared}",
                 f"output_dir={tmp_path}", "max_steps=3", "eval_steps=null", "train_size=16",
                 "max_seq_length=320"]
    assert train_main(CONFIGS_DIR / "train_tiny_lora.yaml", overrides) == 0
    m = _manifest(tmp_path / "tiny-llama-16")
    assert m["steps"] == 3 and m["config"]["lora"]["r"] == 8 and m["data"]["articles"] == 16


def test_a_model_without_chat_template_trains_in_plain_format(make_config, tiny_model,
                                                              sample_prepared, tmp_path):
    """`ftbench train` on a base model without a chat template: plain prompts, said so."""
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((bare / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(cfg))
    path = make_config(tmp_path / "train.yaml", base_model=str(bare), model_name="bare",
                       train_size=16, data_dir=str(sample_prepared),
                       output_dir=str(tmp_path / "runs"), max_steps=2)
    assert train_main(path, []) == 0
    run_dir = tmp_path / "runs" / "bare-16"
    fmt = _manifest(run_dir)["prompt_format"]
    assert fmt == {"format": "plain", "reason": "the tokenizer has no chat template",
                   "chat_template": "auto", "add_bos_token": None}
    assert _manifest(run_dir)["loss_mask"] == "completion"
    assert _manifest(run_dir)["merge_parity"]["ok"]  # probed with the plain prompts


def test_merge_false_keeps_the_adapter_alone(run, tiny_model):
    """`merge: false`: adapter/ and the manifest, no merged/ and no parity; the typed manifest
    takes the family and size from the base (LoRA keeps its shapes), the card says so."""
    run_dir = run("nomerge", max_steps=2, eval_fraction=0.0, merge=False)
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert not (run_dir / "merged").exists()
    m = _manifest(run_dir)
    assert m["outputs"]["merged"] is None and m["merge_parity"] is None
    assert m["fingerprint"]["config"]["merge"] is False
    typed, base = read_run_manifest(run_dir), base_manifest("tiny", str(tiny_model))
    assert (typed.family, typed.params) == (base.family, base.params) != (None, None)
    assert "no merged checkpoint was written" in (run_dir / "adapter" / "README.md").read_text()
