"""Load a base model for LoRA, QLoRA or full fine-tuning with plain transformers + peft.

QLoRA: the base is quantised to 4-bit NF4 by bitsandbytes (on CPU too) and prepared with
`prepare_model_for_kbit_training`; trl's SFTTrainer then adds the LoRA adapter from `peft_config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftbench.train.config import LoraSettings, TrainConfig

QLORA_QUANT = {"library": "bitsandbytes", "load_in_4bit": True, "quant_type": "nf4",
               "double_quant": True}


@dataclass
class LoadedModel:
    """What a backend hands to the SFT step."""

    model: Any
    tokenizer: Any
    peft_config: Any | None  # a peft.LoraConfig, or None (full fine-tuning / unsloth adds its own)
    dtype: Any  # torch dtype the weights are trained in (4-bit weights compute in it)
    device: str
    backend: str = "peft"
    quantization: dict | None = None  # recorded in the manifest (QLoRA)


def device_and_dtype(precision: str) -> tuple[str, Any]:
    """'cuda' with bf16 where supported; 'cpu' with fp32 (bf16 autocast on CPU is slower here)."""
    import torch

    from ftbench.core.accelerator import torch_device

    device = torch_device()
    if precision == "auto":
        if device == "cuda":
            return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return device, torch.float32
    return device, {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def load_tokenizer(model_path: str, add_bos_token: bool | None = None,
                   revision: str | None = None):
    """The model's tokenizer; `add_bos_token` (a per-model setting) overrides its default, as
    lm-eval's hf and vllm backends do with the same setting at evaluation time."""
    from transformers import AutoTokenizer

    kwargs = {} if add_bos_token is None else {"add_bos_token": add_bos_token}
    kwargs |= revision_kwargs(revision)
    tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
    if tokenizer.pad_token is None:  # Llama 3.x ships none; padding is masked out of the loss
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def lora_config(settings: LoraSettings):
    from peft import LoraConfig

    return LoraConfig(r=settings.r, lora_alpha=settings.alpha,
                      lora_dropout=settings.effective_dropout("peft"),
                      target_modules=settings.target_modules, bias="none", task_type="CAUSAL_LM")


def _disable_cpu_inference_packing(model) -> None:
    """bitsandbytes repacks 4-bit weights for a CPU inference kernel the first time a layer runs
    under no_grad in eval mode; the repacked layout needs in_features divisible by the block size
    and is not the one training uses, so evaluation during training must keep the training path."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False


def revision_kwargs(revision: str | None) -> dict:
    """`revision=<commit>` for a hub base (ftbench.core.hub), nothing for local files."""
    return {"revision": revision} if revision else {}


def load_model(model_path: str, cfg: TrainConfig, add_bos_token: bool | None = None,
               revision: str | None = None) -> LoadedModel:
    """Tokenizer + base model for `cfg.method`, on the GPU when there is one; a hub base at the
    commit its run is identified by."""
    import torch
    from transformers import AutoModelForCausalLM

    device, dtype = device_and_dtype(cfg.precision)
    tokenizer = load_tokenizer(model_path, add_bos_token, revision)
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                   bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype)
        model = AutoModelForCausalLM.from_pretrained(
            model_path, quantization_config=quant, dtype=dtype,
            device_map={"": 0} if device == "cuda" else "cpu", **revision_kwargs(revision))
        if device == "cpu":
            _disable_cpu_inference_packing(model)
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.effective_gradient_checkpointing(device))
    else:
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype,
                                                     **revision_kwargs(revision))
        model.to(device)
    peft_config = None if cfg.method == "full" else lora_config(cfg.lora)
    torch.manual_seed(cfg.seed)
    return LoadedModel(model=model, tokenizer=tokenizer, peft_config=peft_config, dtype=dtype,
                       device=device, quantization=QLORA_QUANT if cfg.method == "qlora" else None)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total); 4-bit weights count as their unquantised size (peft's convention)."""
    if hasattr(model, "get_nb_trainable_parameters"):
        return model.get_nb_trainable_parameters()
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        if p.__class__.__name__ == "Params4bit":
            n *= 2
        total += n
        trainable += n if p.requires_grad else 0
    return trainable, total
