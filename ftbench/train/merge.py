"""Export: the adapter as trained, and a merged full-precision checkpoint that any tool can load.

Why merge into a freshly loaded base: after QLoRA the in-memory base is 4-bit, and merging into
quantised weights would bake the quantisation error into the export. Loading the base again in
fp32 (CPU) or bf16 (GPU) and merging the saved adapter gives the checkpoint lm-eval and vLLM read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftbench.train.finite import check_finite_weights


def merge_dtype(device: str):
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def save_adapter(model: Any, tokenizer: Any, out: Path) -> Path:
    """The trained PEFT adapter (adapter_config.json + adapter_model.safetensors)."""
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def merge_adapter(base_path: str, adapter_dir: Path, tokenizer: Any, out: Path,
                  device: str, revision: str | None = None,
                  probe: list[str] | None = None) -> dict | None:
    """Base (full precision) + adapter → merged safetensors checkpoint with the tokenizer; on
    the GPU when training ran there (an 8 B base reloaded on CPU takes minutes and host RAM).
    With `probe` prompts, returns the merge's parity (train/merge_parity.py): the adapter's
    outputs against the merged checkpoint read back from `out`."""
    import gc

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ftbench.train import merge_parity

    kwargs = {"revision": revision} if revision else {}
    if device == "cuda":
        kwargs["device_map"] = {"": 0}
    dtype = merge_dtype(device)
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype, **kwargs)
    adapted = PeftModel.from_pretrained(base, str(adapter_dir))
    before = merge_parity.probe_outputs(adapted, tokenizer, probe) if probe else None
    zero = merge_parity.adapter_is_zero(adapted) if probe else None
    merged = adapted.merge_and_unload()
    _save(merged, tokenizer, out)
    del base, merged, adapted
    if before is None:
        return None
    gc.collect()
    reloaded = AutoModelForCausalLM.from_pretrained(
        out, dtype=dtype, **({"device_map": {"": 0}} if device == "cuda" else {}))
    after = merge_parity.probe_outputs(reloaded, tokenizer, probe)
    del reloaded
    return {**merge_parity.compare(before, after, str(dtype).replace("torch.", "")),
            "adapter_all_zero": zero}


def save_full(model: Any, tokenizer: Any, out: Path, device: str) -> Path:
    """A fully fine-tuned model saved in the export dtype."""
    model = model.to(merge_dtype(device))
    _save(model, tokenizer, out)
    return out


def _save(model: Any, tokenizer: Any, out: Path) -> None:
    if tokenizer.pad_token_id is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)  # safetensors is the transformers 5 default
    tokenizer.save_pretrained(out)
    check_finite_weights(out)  # read back: an inf in the export never becomes a complete run
