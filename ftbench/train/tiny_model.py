"""The embedded default model: a tiny Llama-architecture causal LM built offline in seconds.

Why: CI, tests and a newcomer's laptop have no hub access and no GPU, yet every code path
(tokenizer, chat template, LoRA, QLoRA, merging, lm-eval, vLLM) must run on a real model. We train
a byte-level BPE tokenizer, give it a ChatML chat template, and pre-train a few transformer layers
on the *train-split* articles only, so the test articles stay unseen and perplexity and task scores
on them are honest. A study pre-trains on its own prepared split (`prepared_split_data`: every
article not held out, whatever the seed and test size); the standalone builder and the test
fixture use the bundled sample split (`sample_split_data`, seed 42 / 16 test articles). Which
texts it saw is part of the model's identity (`model_identity`), so a changed split rebuilds it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ftbench.core.io import atomic_write_json, sha256_file

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


@dataclass(frozen=True)
class PretrainingData:
    """The article texts the tiny model pre-trains on, and where they came from (for the manifest)."""

    texts: list[str]
    record: dict


def article_text(article) -> str:
    return f"{article.title}\n\n{article.summary}\n\n{article.content}"


def _train_texts(source: Path, test_rows: list[dict], skip_invalid: bool) -> list[str]:
    """Every article of `source` that preparation kept (same dedupe) and did not hold out."""
    from ftbench.suites.bmw.prepare import article_id, dedupe
    from ftbench.suites.bmw.schema import load_articles

    test_ids = {r["article_id"] for r in test_rows}
    test_urls = {r["url"] for r in test_rows if r.get("url")}
    articles, _ = load_articles(source, skip_invalid=skip_invalid)
    kept, _ = dedupe(articles)
    train = [a for a in kept if article_id(a) not in test_ids]
    if any(a.url and a.url in test_urls for a in train):  # cannot happen; a leak inflates scores
        raise RuntimeError(f"{source}: a held-out article is among the pre-training texts")
    return [article_text(a) for a in train]


def sample_split_data(corpus: Path | str) -> PretrainingData:
    """The train split of `corpus` made with the bundled sample's settings (seed 42, 16 test
    articles): the standalone `ftbench tiny-model` and the test fixture use it."""
    from ftbench.core.fingerprint import digest
    from ftbench.suites.bmw.prepare import prepare_file
    from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

    corpus = Path(corpus)
    test = prepare_file(corpus, **SAMPLE_PREPARE).test
    texts = _train_texts(corpus, test, skip_invalid=False)
    split = {k: list(v) if isinstance(v, tuple) else v for k, v in SAMPLE_PREPARE.items()}
    return PretrainingData(texts, {
        "from": "corpus train split", "source": {"path": str(corpus), "sha256": sha256_file(corpus)},
        "split": split, "articles": len(texts),
        "held_out_articles": len({r["article_id"] for r in test}), "texts_sha256": digest(texts)})


def prepared_split_data(prepared: Path | str) -> PretrainingData:
    """All train-split articles of a prepared directory (`ftbench data prepare`, a study's data
    stage): its raw source minus its held-out test articles. The source and test.jsonl must still
    be what the manifest recorded, and the count must equal the manifest's train articles."""
    from ftbench.core.fingerprint import digest
    from ftbench.core.io import InputError, read_jsonl
    from ftbench.suites.bmw.prepare import read_prepared_manifest

    prepared = Path(prepared)
    manifest = read_prepared_manifest(prepared)
    if not manifest or "source" not in manifest:
        raise InputError(f"{prepared / 'manifest.json'}: not found or not a prepared directory; "
                         "the data stage must run before the tiny model is built")
    test_path = prepared / "test.jsonl"
    test_sha = sha256_file(test_path) if test_path.is_file() else None
    if test_sha is None or test_sha != (manifest.get("files") or {}).get("test.jsonl"):
        raise InputError(f"{test_path}: missing or differs from {prepared / 'manifest.json'}; "
                         "re-run the data stage")
    source = Path(manifest["source"]["path"])
    if not source.is_file() or sha256_file(source) != manifest["source"]["sha256"]:
        raise InputError(f"{source}: missing or changed since {prepared} was prepared from it; "
                         "re-run the data stage")
    skip_invalid = bool(((manifest.get("fingerprint") or {}).get("settings") or {})
                        .get("skip_invalid", False))
    test = read_jsonl(test_path)
    texts = _train_texts(source, test, skip_invalid)
    expected = (manifest.get("articles") or {}).get("train")
    if expected is not None and expected != len(texts):
        raise RuntimeError(f"{prepared}: rebuilt {len(texts)} train articles, the manifest "
                           f"says {expected}")
    return PretrainingData(texts, {
        "from": "prepared train split", "prepared_dir": str(prepared),
        "source": {"path": str(source), "sha256": manifest["source"]["sha256"]},
        "test_file": {"path": str(test_path), "sha256": test_sha},
        "articles": len(texts), "held_out_articles": len({r["article_id"] for r in test}),
        "texts_sha256": digest(texts)})


def pretraining_texts(corpus: Path) -> list[str]:
    """Article texts of the corpus's train split (same split as the prepared sample)."""
    return sample_split_data(corpus).texts


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


def build_tiny_model(out: Path | str, corpus: Path | str | None = None,
                     config: TinyModelConfig | None = None,
                     data: PretrainingData | None = None) -> Path:
    """Build, pre-train and save the tiny model to `out` (HF format + manifest.json), on `data`
    (default: the train split of `corpus`, or of the bundled sample, with the sample's settings)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    from ftbench.core.paths import SAMPLE_CORPUS

    cfg = config or TinyModelConfig()
    data = data or sample_split_data(Path(corpus or SAMPLE_CORPUS))
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
