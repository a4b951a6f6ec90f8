"""One model load per base (hf): the base's LM is built once, each adapter of it is attached in turn.

A study's fine-tunes evaluated as `NAME=BASE::ADAPTER` share their base: loading it again for each
(today's one-model-one-load) costs a full read of the base's weights per fine-tune, while an
adapter is megabytes. `BasePool` keeps the last base's lm-eval LM open; a model of the same base
(same weights, dtype, prompt settings and engine args: `base_key`) gets that LM with its adapter
attached with peft (`PeftModel.from_pretrained` for the first, `load_adapter` + `set_adapter`
for the next, the previous one deleted), the base itself is evaluated before any adapter is
attached (`order_by_base`) or on the base unwrapped again. Everything else (results files,
fingerprints, statuses, resume) stays per model: the worker evaluates each model as before.

A failing adapter (a corrupt folder, an adapter of another base) fails its model alone: what it
injected is deleted, and when that cannot be done (the first adapter of a base that failed while
wrapping it) the base is dropped and loaded again for the next model, so no model is ever
evaluated on weights another adapter touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from ftbench.core import lm_eval_glue
from ftbench.eval.specs import ModelSpec
from ftbench.eval.worker import ModelRun, WorkerJob, check_refs, open_model, task_index

# the model args that name an adapter (hf: `peft`; vLLM: its path and the rank it needs)
ADAPTER_ARGS = ("peft", "lora_local_path", "max_lora_rank")


def base_key(job: WorkerJob) -> str:
    """What the base's LM is built from: the model args without the adapter, and the engine's
    batch size, threads and device. Two jobs with the same key can share one load."""
    args = {k: v for k, v in job.model_args(None).items() if k not in ADAPTER_ARGS}
    return json.dumps({"args": args, "batch_size": job.batch_size, "threads": job.threads,
                       "on_cpu": job.on_cpu, "context": job.context_override(),
                       "backend": job.backend}, sort_keys=True, default=str)


def order_by_base(specs: list[ModelSpec], key: Callable[[ModelSpec], str]) -> list[ModelSpec]:
    """Models grouped by base key in the order each base first appears; within a group the base
    itself (no adapter) first, so it is evaluated before any adapter touches its LM."""
    groups: dict[str, list[ModelSpec]] = {}
    for spec in specs:
        groups.setdefault(key(spec), []).append(spec)
    return [s for group in groups.values()
            for s in sorted(group, key=lambda s: s.adapter is not None)]


@dataclass
class _OpenBase:
    key: str
    run: ModelRun       # the base's LM, context, threads and tokenizer
    load: int           # which base load of this pool it is (1, 2, ...)
    models: int = 0     # models evaluated on it so far
    adapter: str | None = None  # peft name of the attached adapter (None: bare base)


class BasePool:
    """The open base of an hf evaluation (at most one: a base's memory is released before the
    next is loaded). `run_for(job)` is the worker's `open_model` for a shared base."""

    def __init__(self) -> None:
        self.open: _OpenBase | None = None
        self.loads = 0      # base LMs built: one per base, unless a failed adapter spoiled one
        self._names = 0

    def run_for(self, job: WorkerJob) -> ModelRun:
        """The LM for `job`, its adapter active; raises (the model fails alone) when its files
        or its adapter do not load."""
        check_refs(job)
        key = base_key(job)
        if self.open is None or self.open.key != key:
            self.close()
            run = open_model(replace(job, spec=replace(job.spec, adapter=None)))
            self.loads += 1
            self.open = _OpenBase(key, run, self.loads)
        base = self.open
        try:
            self._activate(base, job.spec.adapter)
        except BaseException:
            self._discard_failed(base)
            raise
        base.models += 1
        return replace(base.run, tm=task_index(job, base.run.context),
                       load={"load": base.load, "reused": base.models > 1,
                             "adapter_swapped": job.spec.adapter is not None})

    def close(self) -> None:
        """Release the open base (the next model loads its own)."""
        self.open = None
        from ftbench.train.run import release_memory

        release_memory()

    # --- adapters on the open base -------------------------------------------------------------

    def _activate(self, base: _OpenBase, adapter: str | None) -> None:
        lm = base.run.lm
        model = lm_eval_glue.hf_model(lm)
        if adapter is None:  # the base itself: unwrapped (its adapters' layers removed)
            if base.adapter is not None:
                model = model.unload()
                base.adapter = None
            lm_eval_glue.set_hf_model(lm, model, None)
            return
        from peft import PeftModel

        self._names += 1
        name = f"ftbench_{self._names}"
        if base.adapter is None:
            lm_eval_glue.fit_embeddings_for_peft(lm, model)
            model = PeftModel.from_pretrained(model, adapter, adapter_name=name)
        else:
            model.load_adapter(adapter, adapter_name=name)
            model.set_adapter(name)
            model.delete_adapter(base.adapter)
        model.eval()
        lm_eval_glue.set_hf_model(lm, model, adapter)
        base.adapter = name

    def _discard_failed(self, base: _OpenBase) -> None:
        """Remove what a failed adapter injected; drop the base when that is not possible."""
        model = lm_eval_glue.hf_model(base.run.lm)
        name = f"ftbench_{self._names}"
        try:
            if base.adapter is not None and name in getattr(model, "peft_config", {}):
                model.delete_adapter(name)
                model.set_adapter(base.adapter)
            clean = _adapter_names(model) <= ({base.adapter} - {None})
        except Exception:
            clean = False
        if not clean:
            self.close()


def _adapter_names(model) -> set[str]:
    """The adapter names present in `model`'s LoRA layers (a bare base: none)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    names: set[str] = set()
    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            for attr in module.adapter_layer_names:
                names.update(getattr(module, attr, {}).keys())
    return names
