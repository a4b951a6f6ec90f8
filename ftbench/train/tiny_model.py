"""The embedded default model: a tiny Llama-architecture causal LM built offline in seconds.

Why: CI, tests and a newcomer's laptop have no hub access and no GPU, yet every code path
(tokenizer, chat template, LoRA, QLoRA, merging, lm-eval, vLLM) must run on a real model. We train
a byte-level BPE tokenizer, give it a ChatML chat template, and pre-train a few transformer layers
on the *train split* of a suite's texts only, so the test items stay unseen and perplexity and task
scores on them are honest. The suite says which texts those are (`Suite.pretraining`): a study's
own prepared split, or the bundled sample's split for the standalone builder and the test
fixture. Which texts it saw is part of the model's identity (`model_identity`), so a changed
split rebuilds it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ftbench.core.io import InputError, atomic_write_json
from ftbench.suites.base import PretrainingData, Suite

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else %}{{ message['content'] + '<|im_end|>' + '\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class TinyModelConfig:
    vocab_size: int = 3000
    hidden_size: int = 128
    intermediate_size: int = 352
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    max_position_embeddings: int = 2048
    pretrain_steps: int = 300
    seq_len: int = 256
    batch_size: int = 8
    learning_rate: float = 3e-3
    seed: int = 0


def model_identity(config: TinyModelConfig | dict, texts_sha256: str | None) -> dict:
    """What makes two tiny models the same: the build settings and the exact pre-training texts."""
    return {"config": asdict(config) if isinstance(config, TinyModelConfig) else config,
            "pretraining_texts_sha256": texts_sha256}


def manifest_identity(manifest: dict) -> dict:
    """`model_identity` of a built model, from its manifest (older ones lack the texts' hash)."""
    return model_identity(manifest.get("config"),
                          (manifest.get("pretraining_data") or {}).get("texts_sha256"))


def build_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|im_end|>",
        pad_token="<|pad|>", unk_token=None, chat_template=CHATML_TEMPLATE,
        model_max_length=2048, clean_up_tokenization_spaces=False,
    )


def _blocks(tokenizer, texts: list[str], seq_len: int) -> list[list[int]]:
    ids: list[int] = []
    for t in texts:
        ids += tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return [ids[i : i + seq_len] for i in range(0, len(ids) - seq_len + 1, seq_len)]


def pretraining_data(suite: Suite | None = None, prepared: Path | str | None = None,
                     corpus: Path | str | None = None) -> PretrainingData:
    """The texts `suite` (default: the registry's default suite) gives the tiny model: the
    train split of a prepared directory, else of `corpus` or its bundled sample."""
    if suite is None:
        from ftbench.suites.registry import DEFAULT, get_suite

        suite = get_suite(DEFAULT)
    if suite.pretraining is None:
        raise InputError(f"suite {suite.name!r} has no texts to pre-train the embedded tiny "
                         "model on; give the model a path")
    return suite.pretraining(Path(prepared) if prepared else None,
                             Path(corpus) if corpus else None)


def build_tiny_model(out: Path | str, corpus: Path | str | None = None,
                     config: TinyModelConfig | None = None,
                     data: PretrainingData | None = None) -> Path:
    """Build, pre-train and save the tiny model to `out` (HF format + manifest.json), on `data`
    (default: the default suite's train split of `corpus` or of its bundled sample)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    cfg = config or TinyModelConfig()
    data = data or pretraining_data(corpus=corpus)
    texts = data.texts
    out = Path(out)
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    tokenizer = build_tokenizer(texts, cfg.vocab_size)
    model_cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size, num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(model_cfg)
    blocks = _blocks(tokenizer, texts, cfg.seq_len)
    dataset = [{"input_ids": b, "labels": b} for b in blocks]
    args = TrainingArguments(
        output_dir=str(out / ".pretrain"), max_steps=cfg.pretrain_steps,
        per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        lr_scheduler_type="cosine", warmup_steps=max(1, cfg.pretrain_steps // 20),
        logging_steps=max(1, cfg.pretrain_steps // 10), save_strategy="no", report_to=[],
        seed=cfg.seed, data_seed=cfg.seed, use_cpu=True, disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset)
    trainer.remove_callback(PrinterCallback)  # the manifest keeps the first and last loss
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    import shutil

    shutil.rmtree(out / ".pretrain", ignore_errors=True)
    atomic_write_json(out / "manifest.json", {
        "kind": "ftbench-tiny-model",
        "config": asdict(cfg),
        "pretraining_data": data.record,
        "pretrain_blocks": len(blocks),
        "pretrain_loss": {"first": losses[0] if losses else None, "last": losses[-1] if losses else None},
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": round(time.time() - t0, 2),
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
    })
    return out


def load_manifest(model_dir: Path | str) -> dict:
    return json.loads((Path(model_dir) / "manifest.json").read_text())
