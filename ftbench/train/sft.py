"""Supervised fine-tuning with trl's SFTTrainer: loss on assistant tokens only, eval before/after.

Why trl and no loop of our own: SFTTrainer already applies the chat template, builds the
assistant/completion loss mask, adds the LoRA adapter from a peft config, and logs; our part is to
choose its settings from the config and to record what happened.
"""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ftbench.core import interrupts, verbosity
from ftbench.train.config import TrainConfig
from ftbench.train.model_loading import LoadedModel


@dataclass
class TrainOutcome:
    """The trained model (a PeftModel for LoRA/QLoRA) and the numbers a run reports."""

    model: Any
    log_history: list[dict]
    eval_loss_before: float | None
    eval_loss_after: float | None
    final_train_loss: float | None
    train_runtime_s: float
    eval_during_train_s: float
    tokens_seen: int
    steps: int
    train_rows: int
    eval_rows: int


def sft_config(cfg: TrainConfig, work_dir: Path, loaded: LoadedModel, loss_mask: str,
               has_eval: bool, run: str = ""):
    """The SFTConfig of a run; every value comes from the TrainConfig or the loaded model
    (`run`: the run's name, its name in the trackers)."""
    import torch
    from trl import SFTConfig

    from ftbench.core.tracking import trainer_args

    on_gpu = loaded.device == "cuda"
    return SFTConfig(
        output_dir=str(work_dir), seed=cfg.seed, data_seed=cfg.seed,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay, logging_steps=cfg.logging_steps,
        eval_strategy="steps" if has_eval and cfg.eval_steps else "no",
        eval_steps=cfg.eval_steps if has_eval else None,
        save_strategy="steps" if cfg.checkpoint_steps else "no",
        save_steps=cfg.checkpoint_steps or 500, save_total_limit=1,
        **trainer_args(cfg.tracking, run), disable_tqdm=True, dataloader_num_workers=0,
        use_cpu=not on_gpu, bf16=on_gpu and loaded.dtype == torch.bfloat16,
        fp16=on_gpu and loaded.dtype == torch.float16,
        # unsloth checkpoints inside get_peft_model ("unsloth" mode); the trainer must not add its own
        gradient_checkpointing=(cfg.effective_gradient_checkpointing(loaded.device)
                                and loaded.backend != "unsloth"),
        max_length=cfg.max_seq_length, packing=False,
        assistant_only_loss=loss_mask == "assistant",
        completion_only_loss=True if loss_mask == "completion" else None,
        include_num_input_tokens_seen="non_padding", dataset_num_proc=None,
        logging_nan_inf_filter=False,  # a NaN loss is logged as NaN: FiniteLossGuard stops it
    )


def _final_train_loss(history: list[dict]) -> float | None:
    losses = [h["loss"] for h in history if "loss" in h]
    return float(losses[-1]) if losses else None


class InterruptCheck(TrainerCallback):
    """Every step is a safe point: a SIGINT/SIGTERM whose KeyboardInterrupt a library callback
    swallowed (ftbench.core.interrupts) stops the run here, before the next step."""

    def on_step_end(self, args, state, control, **kwargs):
        interrupts.check()
        return control


def run_sft(cfg: TrainConfig, loaded: LoadedModel, train_records: list[dict],
            eval_records: list[dict], loss_mask: str, work_dir: Path,
            callbacks: list | None = None, run: str = "",
            resume_from: Path | None = None) -> TrainOutcome:
    """Train (from the checkpoint `resume_from`, if given; checkpoints go to `work_dir`);
    evaluate on the held-out articles before and after; return model and numbers."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTTrainer

    from ftbench.core.tracking import finish_trackers, trainer_env
    from ftbench.train.checkpoints import TimedCheckpoints
    from ftbench.train.finite import FiniteLossGuard

    has_eval = bool(eval_records)
    args = sft_config(cfg, work_dir, loaded, loss_mask, has_eval, run)
    timed = [TimedCheckpoints(cfg.checkpoint_minutes)] if cfg.checkpoint_minutes else []
    with trainer_env(cfg.tracking, run):  # TensorBoard's callback reads its directory here
        trainer = SFTTrainer(
            model=loaded.model, args=args, processing_class=loaded.tokenizer,
            train_dataset=Dataset.from_list(train_records),
            eval_dataset=Dataset.from_list(eval_records) if has_eval else None,
            peft_config=loaded.peft_config,
            callbacks=[FiniteLossGuard(), InterruptCheck(), *(callbacks or []), *timed],
        )
    if verbosity.level() != "verbose":  # history.json and ftbench's display carry the logs
        trainer.remove_callback(PrinterCallback)
    # what the trackers print (Trackio's banner) is library output: the run's log, not stdout
    with redirect_stdout(sys.stderr) if verbosity.level() != "verbose" else nullcontext():
        before = trainer.evaluate()["eval_loss"] if has_eval else None
        t0 = time.perf_counter()
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        interrupts.check()  # training's very end: the last chance before the export
        runtime = result.metrics.get("train_runtime", time.perf_counter() - t0)
        # evaluations at eval_steps run inside train_runtime; throughput must not count them
        eval_in_train = sum(h.get("eval_runtime", 0.0) for h in trainer.state.log_history)
        after = trainer.evaluate()["eval_loss"] if has_eval else None
        finish_trackers(cfg.tracking)  # the evaluation after training reopened the run
    history = list(trainer.state.log_history)  # train() starts a fresh state: re-add step 0
    if before is not None:
        history.insert(0, {"step": 0, "epoch": 0.0, "eval_loss": before})
    return TrainOutcome(
        model=trainer.model, log_history=history, eval_loss_before=before, eval_loss_after=after,
        final_train_loss=_final_train_loss(history), train_runtime_s=float(runtime),
        eval_during_train_s=float(eval_in_train),
        tokens_seen=int(trainer.state.num_input_tokens_seen or 0), steps=trainer.state.global_step,
        train_rows=len(trainer.train_dataset),
        eval_rows=len(trainer.eval_dataset) if has_eval else 0,
    )
