"""The context length comes from the model (config keys, tokenizer), never a constant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftbench.core.context import model_context_limit, perplexity_window, resolve_context
from ftbench.core.io import InputError


def _variant(tiny_model: Path, out: Path, config: dict, model_max_length: int | None) -> str:
    """A model dir with the tiny model's tokenizer and a hand-written config.json."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    if model_max_length is not None:
        tok.model_max_length = model_max_length
    tok.save_pretrained(out)
    (out / "config.json").write_text(json.dumps(config))
    return str(out)


def test_tiny_model_context_is_its_config(tiny_model):
    limit, source = model_context_limit(str(tiny_model))
    assert limit == 2048
    assert source == "config.max_position_embeddings"
    ctx = resolve_context(str(tiny_model))
    assert (ctx.tokens, ctx.source, ctx.model_limit) == (2048, "config.max_position_embeddings", 2048)


@pytest.mark.parametrize(("config", "tok_max", "expected"), [
    # SmolLM2: 8192 positions, a tokenizer that declares no limit (1e30)
    ({"model_type": "llama", "max_position_embeddings": 8192}, int(1e30),
     (8192, "config.max_position_embeddings")),
    # a tokenizer declaring less than the positions bounds the context
    ({"model_type": "llama", "max_position_embeddings": 8192}, 1024,
     (1024, "tokenizer.model_max_length")),
    # GPT-2 style key (transformers maps n_positions to max_position_embeddings)
    ({"model_type": "gpt2", "n_positions": 640}, int(1e30), (640, "config.max_position_embeddings")),
    # a composite (multimodal) config: the text model's limit, not the top level's
    ({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text",
                                              "max_position_embeddings": 32768}},
     int(1e30), (32768, "config.text_config.max_position_embeddings")),
])
def test_context_from_config_keys_and_tokenizer(tiny_model, tmp_path, config, tok_max, expected):
    path = _variant(tiny_model, tmp_path / "m", config, tok_max)
    assert model_context_limit(path) == expected


def test_override_may_only_shorten(tiny_model):
    ctx = resolve_context(str(tiny_model), 512)
    assert (ctx.tokens, ctx.source, ctx.model_limit) == (512, "override", 2048)
    with pytest.raises(InputError, match="exceeds .* own limit 2048"):
        resolve_context(str(tiny_model), 4096)
    with pytest.raises(InputError, match="integer"):
        resolve_context(str(tiny_model), 0)


def test_missing_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read the model config"):
        model_context_limit(str(tmp_path / "nope"))


def test_perplexity_window_matches_lm_eval_vllm():
    """lm-eval's vLLM backend scores windows of max_model_len - 2 tokens (read from its source,
    as importing it needs a vLLM engine; the slow hf-vs-vLLM test checks the numbers)."""
    from importlib.util import find_spec

    source = Path(find_spec("lm_eval").origin).parent / "models" / "vllm_causallms.py"
    assert "max_seq_len=self.max_length - 2" in source.read_text()
    assert perplexity_window(8192) == 8190
