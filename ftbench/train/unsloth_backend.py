"""The unsloth backend: faster LoRA/QLoRA kernels on NVIDIA GPUs, same trl SFTTrainer afterwards.

unsloth is a GPU-only extra (`pip install -e '.[gpu]'`): it refuses to import without an
accelerator and downgrades transformers/trl when installed (STACK.md), so it is imported lazily and
only when a run asks for it. Its adapter is a standard PEFT adapter, so export (merge.py) is shared.
"""

from __future__ import annotations

import importlib.util

from ftbench.core.io import InputError
from ftbench.train.config import TrainConfig
from ftbench.train.model_loading import LoadedModel, device_and_dtype, revision_kwargs

# unsloth's get_peft_model wants module names; this is "all-linear" for Llama/Qwen/Mistral blocks
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def unsloth_installed() -> bool:
    return importlib.util.find_spec("unsloth") is not None


def resolve_backend(requested: str) -> str:
    """'peft' or 'unsloth'. `auto` takes unsloth only with CUDA *and* unsloth installed."""
    import torch

    cuda = torch.cuda.is_available()
    if requested == "unsloth":
        if not cuda:
            raise InputError("config key 'backend': 'unsloth' needs an NVIDIA GPU (CUDA) and none "
                             "is visible; use backend: peft (or auto) on this machine")
        if not unsloth_installed():
            raise InputError("config key 'backend': 'unsloth' is not installed; "
                             "pip install -e '.[gpu]' on the GPU machine, or use backend: peft")
        return "unsloth"
    if requested == "auto":
        return "unsloth" if cuda and unsloth_installed() else "peft"
    return requested


def import_unsloth() -> None:
    """Import before trl/transformers models are built so unsloth can patch them."""
    import unsloth  # noqa: F401


def load_model(model_path: str, cfg: TrainConfig, revision: str | None = None) -> LoadedModel:
    """FastLanguageModel load (4-bit for qlora, full for `full`) with the LoRA adapter attached."""
    import_unsloth()
    from unsloth import FastLanguageModel

    device, dtype = device_and_dtype(cfg.precision)
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=model_path, max_seq_length=cfg.max_seq_length, dtype=dtype,
        load_in_4bit=cfg.method == "qlora", full_finetuning=cfg.method == "full",
        **revision_kwargs(revision),
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if cfg.method != "full":
        targets = cfg.lora.target_modules
        model = FastLanguageModel.get_peft_model(
            model, r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
            target_modules=ALL_LINEAR if targets == "all-linear" else list(targets), bias="none",
            use_gradient_checkpointing="unsloth" if cfg.gradient_checkpointing else False,
            random_state=cfg.seed, max_seq_length=cfg.max_seq_length,
        )
    return LoadedModel(model=model, tokenizer=tokenizer, peft_config=None, dtype=dtype,
                       device=device, backend="unsloth",
                       quantization={"library": "unsloth/bitsandbytes", "load_in_4bit": True}
                       if cfg.method == "qlora" else None)
