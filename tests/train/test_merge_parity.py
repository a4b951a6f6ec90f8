"""Merge parity: the adapter and the merged checkpoint read back from disk answer a fixed probe
alike; a merge that changed the model is caught and said, not passed."""

from __future__ import annotations

import pytest

from ftbench.train import merge, merge_parity


@pytest.fixture(scope="module")
def adapter(tiny_model, tiny_adapter):
    from transformers import AutoTokenizer

    return tiny_adapter, AutoTokenizer.from_pretrained(tiny_model)


ROWS = [{"messages": [{"role": "user", "content": "Summarise: BMW opens a plant in Debrecen."},
                      {"role": "assistant", "content": "A new plant."}]},
        {"messages": [{"role": "user", "content": "Title: the iX5 Hydrogen is tested."},
                      {"role": "assistant", "content": "Hydrogen tests."}]}]


def test_a_correct_merge_agrees_with_its_adapter(tiny_model, adapter, tmp_path):
    path, tok = adapter
    probe = merge_parity.probe_texts(ROWS, tok, "chat")
    assert len(probe) == 2 and "Summarise" in probe[0] and "Title" in probe[1]
    parity = merge.merge_adapter(str(tiny_model), path, tok, tmp_path / "merged", "cpu",
                                 probe=probe)
    assert parity["ok"] and parity["note"] is None and parity["adapter_all_zero"] is False
    assert parity["max_abs_logit_diff"] < 1e-3
    assert parity["greedy_tokens_equal"] == parity["greedy_tokens"] == 2 * merge_parity.NEW_TOKENS


def test_a_broken_merge_is_caught_and_said(tiny_model, adapter, tmp_path, monkeypatch):
    """The export loses the adapter's scaling on one layer (the kind of bug merged-vs-adapter
    reports describe): the probe sees it."""
    import torch
    from peft.tuners.lora import LoraModel

    real = LoraModel.merge_and_unload

    def broken(self, *args, **kwargs):
        model = real(self, *args, **kwargs)
        with torch.no_grad():
            model.model.layers[0].self_attn.q_proj.weight.mul_(3.0)
        return model

    monkeypatch.setattr(LoraModel, "merge_and_unload", broken)
    path, tok = adapter
    parity = merge.merge_adapter(str(tiny_model), path, tok, tmp_path / "merged", "cpu",
                                 probe=merge_parity.probe_texts(ROWS, tok, "chat"))
    assert not parity["ok"]
    assert parity["max_abs_logit_diff"] > parity["tolerance"]
    assert "differs from its adapter" in parity["note"] and "float32" in parity["note"]


def test_an_adapter_that_adds_nothing_is_said(tiny_model, tmp_path):
    """peft initialises LoRA B to zero: an adapter saved untrained changes nothing."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                     task_type="CAUSAL_LM")
    get_peft_model(model, cfg).save_pretrained(tmp_path / "zero")
    tok = AutoTokenizer.from_pretrained(tiny_model)
    parity = merge.merge_adapter(str(tiny_model), tmp_path / "zero", tok, tmp_path / "merged",
                                 "cpu", probe=merge_parity.probe_texts(ROWS[:1], tok, "chat"))
    assert parity["adapter_all_zero"] is True and parity["ok"]
