"""Proof that a merge changed nothing it should not.

The adapter (base + LoRA, unmerged) and the merged checkpoint *read back from disk* answer the
same fixed probe of prompts from the run's own data: the largest logit difference over every
prompt position and the greedy tokens of the first `NEW_TOKENS` steps are compared. Rounding to
the export dtype alone moves logits by at most about `TOLERANCE[dtype]`; more than that means the
merge or the export broke the model, which is said loudly, never passed silently.
"""

from __future__ import annotations

from typing import Any

# max |Δ logit| that rounding the merged weights to the export dtype can explain
TOLERANCE = {"float32": 1e-3, "float16": 5e-2, "bfloat16": 2.5e-1}
PROBE_PROMPTS = 2
NEW_TOKENS = 8
MAX_PROMPT_TOKENS = 256


def probe_texts(rows: list[dict], tokenizer: Any, prompt_format: str) -> list[str]:
    """The first `PROBE_PROMPTS` rows' prompts as the model reads them (chat template or plain)."""
    from ftbench.train.data import plain_record

    texts = []
    for row in rows[:PROBE_PROMPTS]:
        messages = row["messages"][:-1]
        if prompt_format == "plain":
            texts.append(plain_record(row["messages"])["prompt"])
        else:
            texts.append(tokenizer.apply_chat_template(messages, tokenize=False,
                                                       add_generation_prompt=True))
    return texts


def probe_outputs(model: Any, tokenizer: Any, texts: list[str]) -> list[tuple[Any, list[int]]]:
    """Per prompt: the logits at every prompt position (float32, CPU) and the greedy tokens."""
    import torch

    outputs = []
    device = next(model.parameters()).device
    for text in texts:
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        ids = ids[:, -MAX_PROMPT_TOKENS:].to(device)
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0].float().cpu()
            generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                       max_new_tokens=NEW_TOKENS, do_sample=False,
                                       pad_token_id=tokenizer.pad_token_id
                                       if tokenizer.pad_token_id is not None
                                       else tokenizer.eos_token_id)
        outputs.append((logits, generated[0, ids.shape[1]:].tolist()))
    return outputs


def adapter_is_zero(model: Any) -> bool:
    """Whether every LoRA `B` matrix is zero: the adapter then adds nothing to the base (peft
    initialises B to zero, so a run that never stepped, or stepped with learning rate 0, keeps
    it so)."""
    weights = [p for name, p in model.named_parameters() if "lora_B" in name]
    return bool(weights) and all(not bool(p.detach().abs().max()) for p in weights)


def compare(adapter: list[tuple[Any, list[int]]], merged: list[tuple[Any, list[int]]],
            dtype: str) -> dict:
    """`merge_parity` of the run manifest."""
    max_diff = max(float((a - b).abs().max()) for (a, _), (b, _) in zip(adapter, merged))
    equal = total = 0
    for (_, a), (_, b) in zip(adapter, merged):
        total += max(len(a), len(b))
        equal += sum(x == y for x, y in zip(a, b))
    tolerance = TOLERANCE.get(dtype, TOLERANCE["bfloat16"])
    ok = max_diff <= tolerance
    note = None if ok else (
        f"merged checkpoint differs from its adapter: max |Δ logit| {max_diff:.3g} > "
        f"{tolerance:g} (what {dtype} rounding explains); greedy tokens equal {equal}/{total}")
    return {"prompts": len(adapter), "new_tokens": NEW_TOKENS, "dtype": dtype,
            "max_abs_logit_diff": max_diff, "tolerance": tolerance,
            "greedy_tokens_equal": equal, "greedy_tokens": total, "ok": ok, "note": note}
