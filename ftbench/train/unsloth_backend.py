"""The unsloth backend: faster LoRA/QLoRA kernels on NVIDIA GPUs, same trl SFTTrainer afterwards.

unsloth is a GPU-only extra (`pip install -e '.[gpu]'`): it refuses to import without an
accelerator and downgrades transformers/trl when installed (STACK.md), so it is imported lazily and
only when a run asks for it. Its adapter is a standard PEFT adapter, so export (merge.py) is shared.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache

from ftbench.core.io import InputError, error_line
from ftbench.train.config import TrainConfig
from ftbench.train.model_loading import LoadedModel, device_and_dtype, revision_kwargs

# unsloth's get_peft_model wants module names; this is "all-linear" for Llama/Qwen/Mistral blocks
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def unsloth_installed() -> bool:
    return importlib.util.find_spec("unsloth") is not None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve_backend(requested: str, cuda: bool | None = None, note=_stderr) -> str:
    """'peft' or 'unsloth'. `auto` takes unsloth only with CUDA *and* an unsloth that actually
    imports (a wrong-version install imports xformers or refuses the torch it finds); when it
    does not, `note` says why and training goes on with peft."""
    from ftbench.core.accelerator import cuda_usable, require_cuda

    if requested == "unsloth":
        require_cuda("backend", "backend: unsloth", "use backend: peft (or auto) on this machine")
        if not unsloth_installed():
            raise InputError("config key 'backend': 'unsloth' is not installed; "
                             "pip install -e '.[gpu]' on the GPU machine, or use backend: peft")
        error = unsloth_import_error()
        if error:
            raise InputError(f"config key 'backend': unsloth is installed but does not import "
                             f"({error}); reinstall with pip install -e '.[gpu]' (its tested "
                             "versions) or use backend: peft")
        return "unsloth"
    if requested == "auto":
        if not (cuda_usable() if cuda is None else cuda) or not unsloth_installed():
            return "peft"
        error = unsloth_import_error()
        if error:
            note(f"ftbench: backend auto: unsloth is installed but does not import ({error}); "
                 "training with peft")
            return "peft"
        return "unsloth"
    return requested


@cache
def unsloth_import_error() -> str | None:
    """None when `import unsloth` works, else its error in one line. Importing it here is also
    what it needs: it patches transformers and trl before any model is built."""
    try:
        import_unsloth()
    except Exception as exc:  # ImportError, NotImplementedError (no accelerator), RuntimeError
        return error_line(exc)
    return None


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
        if cfg.lora.dropout:  # an explicit non-zero value: unsloth patches around the LoRA layers
            _stderr(f"ftbench: lora.dropout {cfg.lora.dropout}: unsloth's fast LoRA kernels need "
                    "0 (null picks it on this backend); this run takes the slower path")
        model = FastLanguageModel.get_peft_model(
            model, r=cfg.lora.r, lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.effective_dropout("unsloth"),
            target_modules=ALL_LINEAR if targets == "all-linear" else list(targets), bias="none",
            use_gradient_checkpointing="unsloth" if cfg.effective_gradient_checkpointing("cuda")
            else False,
            random_state=cfg.seed, max_seq_length=cfg.max_seq_length,
        )
    return LoadedModel(model=model, tokenizer=tokenizer, peft_config=None, dtype=dtype,
                       device=device, backend="unsloth",
                       quantization={"library": "unsloth/bitsandbytes", "load_in_4bit": True}
                       if cfg.method == "qlora" else None)
