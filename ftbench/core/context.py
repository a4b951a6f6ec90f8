"""A model's context length, read from the model itself — never a constant.

The bound is the smallest length the model declares: the position limits of its config (the
keys vLLM and lm-eval read; a nested `text_config` first, as multimodal configs keep the text
model's limit there) and the tokenizer's `model_max_length` when it is a real value. An explicit
override (for memory) may only shorten it. `ftbench eval` passes the result to every backend
(hf `max_length`, vLLM `max_model_len`), so hf and vLLM see the same context; the suites' tasks'
loader reads the same value to fit prompts inside it (`ftbench.suites.fit_context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ftbench.core.io import InputError

# Config keys that carry a maximum sequence length (union of what lm-eval and vLLM consult).
CONFIG_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length",
               "max_sequence_length", "max_seq_length", "seq_len", "model_max_length")
_TOKENIZER_UNSET = 10**9  # transformers' "no limit" is 1e30; anything this large means unset


@dataclass(frozen=True)
class ContextLength:
    """`tokens` usable per sequence (prompt + generation); `source` says where it came from."""

    tokens: int
    source: str
    model_limit: int

    def to_dict(self) -> dict:
        return {"context_length": self.tokens, "source": self.source,
                "model_limit": self.model_limit}


def perplexity_window(context_length: int) -> int:
    """Tokens per perplexity window: lm-eval's vLLM backend scores `max_model_len - 2` (one
    position of context, one for generation); ftbench's hf backend uses the same, so both split
    an article identically and give the same perplexity."""
    return context_length - 2


@cache
def load_tokenizer(name: str, revision: str | None = None, trust_remote_code: bool = False):
    """The tokenizer lm-eval would load for `pretrained` (or its `tokenizer=` argument)."""
    from transformers import AutoTokenizer

    kwargs = {"revision": revision} if revision else {}
    return AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code, **kwargs)


@cache
def model_context_limit(pretrained: str, tokenizer: str | None = None,
                        revision: str | None = None, trust_remote_code: bool = False
                        ) -> tuple[int, str]:
    """(smallest declared limit, where it was declared) for a model directory or hub id."""
    from transformers import AutoConfig

    try:
        kwargs = {"revision": revision} if revision else {}
        config = AutoConfig.from_pretrained(pretrained, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as exc:
        raise InputError(f"{pretrained}: cannot read the model config to find its context "
                         f"length ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    candidates: list[tuple[int, str]] = []
    for cfg, prefix in ((getattr(config, "text_config", None), "config.text_config"),
                        (config, "config")):
        if cfg is None:
            continue
        for key in CONFIG_KEYS:
            value = getattr(cfg, key, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                candidates.append((value, f"{prefix}.{key}"))
        if candidates:  # the text model's own limits win over a composite's top level
            break
    tok = load_tokenizer(tokenizer or pretrained, revision, trust_remote_code)
    tok_max = getattr(tok, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < _TOKENIZER_UNSET:
        candidates.append((tok_max, "tokenizer.model_max_length"))
    if not candidates:
        raise InputError(f"{pretrained}: neither its config ({', '.join(CONFIG_KEYS[:3])}, …) nor "
                         "its tokenizer declares a context length; set it explicitly "
                         "(ftbench eval --context-length N / study eval.context_length)")
    return min(candidates)


def resolve_context(pretrained: str, override: int | None = None, tokenizer: str | None = None,
                    revision: str | None = None, trust_remote_code: bool = False) -> ContextLength:
    """The context to evaluate with: the model's own limit, or a shorter explicit override."""
    limit, source = model_context_limit(pretrained, tokenizer, revision, trust_remote_code)
    if override is None:
        return ContextLength(limit, source, limit)
    if isinstance(override, bool) or not isinstance(override, int) or override < 16:
        raise InputError(f"context length override {override!r}: must be an integer ≥ 16")
    if override > limit:
        raise InputError(f"context length override {override} exceeds {pretrained}'s own limit "
                         f"{limit} ({source}); positions beyond it are untrained")
    return ContextLength(override, "override", limit)
