"""One training run, start to finish: load → data → SFT → adapter (+ merged, unless `merge: false`)
export → manifest.

Everything is written into a staging directory that becomes `<output_dir>/<run>/` only after the
manifest (status "complete") is in it.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from ftbench.core import interrupts
from ftbench.core.model_sources import converted_manifest, resolve_model_path
from ftbench.core.run_manifest import (
    MANIFEST_KEY,
    RunManifest,
    model_family,
    model_files_dir,
    safetensors_params,
)
from ftbench.core.threads import configure_threads
from ftbench.train import data as data_mod
from ftbench.train.artifacts import history_from_log, staged_dir, write_run_files
from ftbench.train.config import RunSpec, TrainConfig
from ftbench.train.measure import PeakMemory, device_info, package_versions


def base_commit(fingerprint: dict | None) -> str | None:
    """The hub commit a run's fingerprint pinned its base to (None: a local base): training and
    the merge load exactly the commit the run is identified by (ftbench.core.hub)."""
    hub = (fingerprint or {}).get("base_commit")
    return hub.rpartition("@")[2] if hub else None


def _load(backend: str, spec: RunSpec, model_path: str, cfg: TrainConfig, revision: str | None):
    if backend == "unsloth":
        from ftbench.train.unsloth_backend import load_model

        return load_model(model_path, cfg, revision=revision)
    from ftbench.train.model_loading import load_model

    return load_model(model_path, cfg, add_bos_token=spec.add_bos_token, revision=revision)


def train_run(cfg: TrainConfig, spec: RunSpec, backend: str, train_file: Path, data_sha: str,
              run_dir: Path, callbacks: list | None = None, on_phase=None,
              fingerprint: dict | None = None) -> dict[str, Any]:
    """Train `spec`, write its directory, return its manifest."""
    from transformers import set_seed

    from ftbench.train import merge_parity
    from ftbench.train.checkpoints import checkpoint_root, remove_checkpoints, resume_point
    from ftbench.train.merge import merge_adapter, save_adapter, save_full
    from ftbench.train.model_loading import count_parameters
    from ftbench.train.sft import run_sft

    phase = on_phase or (lambda text: None)
    threads = configure_threads(cfg.threads)
    t0 = time.perf_counter()
    memory = PeakMemory()
    set_seed(cfg.seed)
    phase("loading model")
    model_path = resolve_model_path(spec.model_path)  # an alias or .gguf: the cached HF dir
    revision = base_commit(fingerprint)
    loaded = _load(backend, spec, model_path, cfg, revision)
    prompt_format, why = data_mod.choose_prompt_format(loaded.tokenizer, spec.chat_template)
    if prompt_format == "plain":
        phase(f"plain prompt format ({why}): system + user text, then ' ' + answer")
    loss_mask = data_mod.choose_loss_mask(loaded.tokenizer, cfg.loss_mask, prompt_format)
    data = data_mod.load_train_data(train_file, data_sha, cfg.eval_fraction, cfg.seed,
                                    loaded.tokenizer, cfg.max_seq_length, prompt_format)
    ckpt = checkpoint_root(run_dir)
    resume = resume_point(ckpt, (fingerprint or {}).get("digest"))
    with staged_dir(run_dir) as tmp:
        phase(f"training (resuming from {resume.name})" if resume else "training")
        outcome = run_sft(cfg, loaded,
                          data_mod.to_records(data.train_rows, loss_mask, prompt_format),
                          data_mod.to_records(data.eval_rows, loss_mask, prompt_format), loss_mask,
                          ckpt, callbacks=[memory, *(callbacks or [])], resume_from=resume,
                          run=spec.name)
        trainable, total = count_parameters(outcome.model)
        phase("exporting")
        parity = None
        if cfg.method == "full":
            save_full(outcome.model, loaded.tokenizer, tmp / "merged", loaded.device)
        else:
            save_adapter(outcome.model, loaded.tokenizer, tmp / "adapter")
            outcome.model = loaded.model = None
            gc.collect()
            if cfg.merge:
                parity = merge_adapter(
                    model_path, tmp / "adapter", loaded.tokenizer, tmp / "merged",
                    loaded.device, revision=revision, probe=merge_parity.probe_texts(
                        data.eval_rows or data.train_rows, loaded.tokenizer, prompt_format))
            if parity is not None and not parity["ok"]:
                phase(f"WARNING: {parity['note']}")
        merged = cfg.method == "full" or cfg.merge
        history = history_from_log(outcome.log_history)
        manifest = {
            "kind": "ftbench-train-run", "status": "complete", "run": spec.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "base_model": spec.model_path, "model_name": spec.model_name,
            "base_model_dir": model_path, "base_model_revision": revision,
            "base_model_source": (converted_manifest(model_path) or {}).get("source"),
            "train_size": spec.train_size, "method": cfg.method, "backend": backend,
            "loss_mask": loss_mask, "config": cfg.to_dict(), "fingerprint": fingerprint,
            "prompt_format": {"format": prompt_format, "reason": why,
                              "chat_template": spec.chat_template,
                              "add_bos_token": spec.add_bos_token},
            "data": {
                "dir": str(train_file.parent), "file": str(train_file), "sha256": data.sha256,
                "articles": data.articles,
                "eval_articles": len({r["article_id"] for r in data.eval_rows}),
                "train_rows": outcome.train_rows, "eval_rows": outcome.eval_rows,
                "fit_to_max_seq_length": data.fit_stats,
            },
            "parameters": {"trainable": trainable, "total": total,
                           "trainable_pct": 100.0 * trainable / total if total else 0.0},
            "steps": outcome.steps,
            "resumed_from": resume.name if resume else None,  # a checkpoint of a killed attempt
            "eval_loss": {"before": outcome.eval_loss_before, "after": outcome.eval_loss_after},
            "final_train_loss": outcome.final_train_loss,
            "merge_parity": parity,
            "timing": _timing(outcome),
            "train_dtype": str(loaded.dtype).replace("torch.", ""),
            "quantization": loaded.quantization,
            "memory": memory.report(), "device": device_info(), "versions": package_versions(),
            "threads": threads,
            "outputs": {"adapter": None if cfg.method == "full" else "adapter",
                        "merged": "merged" if merged else None,
                        "history": "history.json", "loss_curve": "loss_curve.png"},
        }
        manifest["timing"]["wall_s"] = round(time.perf_counter() - t0, 3)
        # without `merged/` the model's family and size are its base's (LoRA keeps the shapes)
        weights = tmp / "merged" if merged else model_files_dir(model_path)
        manifest[MANIFEST_KEY] = typed_manifest(spec, cfg, model_path, weights,
                                                manifest).to_dict()
        interrupts.check()  # an interruption during the export: the run is not complete
        write_run_files(tmp, manifest, history)
    remove_checkpoints(ckpt)  # the run is complete: nothing will resume from them
    del loaded, outcome
    release_memory()
    return manifest


def typed_manifest(spec: RunSpec, cfg: TrainConfig, model_path: str, merged: Path | None,
                   manifest: dict) -> RunManifest:
    """The typed block the study and the report read (ftbench.core.run_manifest); `merged`:
    the folder whose weights the model has (None: not on this machine)."""
    local = Path(model_path)
    return RunManifest(
        role="fine-tuned", base_model=spec.model_name,
        base_model_path=str(local.resolve()) if local.exists() else model_path,
        family=model_family(merged) if merged else None,
        params=safetensors_params(merged) if merged else None, method=cfg.method,
        train_size=spec.train_size, run=spec.name,
        trainable_params=manifest["parameters"]["trainable"],
        final_train_loss=manifest["final_train_loss"],
        eval_loss_before=manifest["eval_loss"]["before"],
        eval_loss_after=manifest["eval_loss"]["after"])


def _timing(outcome) -> dict[str, float | int]:
    """Throughput = non-padding input tokens / training time without the in-training evals."""
    pure = max(outcome.train_runtime_s - outcome.eval_during_train_s, 1e-9)
    return {"train_s": round(outcome.train_runtime_s, 3),
            "eval_during_train_s": round(outcome.eval_during_train_s, 3),
            "tokens_seen": outcome.tokens_seen, "tokens_per_s": outcome.tokens_seen / pure}


def release_memory() -> None:
    """Give model memory back between runs of a grid and before evaluation: collect the cycles
    a model, trainer and optimizer form, then return CUDA's cached blocks to the driver (a vLLM
    engine started next asks for a share of the card's *free* memory)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.ipc_collect()
    except ImportError:  # pragma: no cover
        pass
