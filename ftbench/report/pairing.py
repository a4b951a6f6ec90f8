"""Which models are bases, and which base each fine-tuned model is compared with.

A study states it: every evaluated model's spec carries a run manifest
(`ftbench.core.run_manifest`): role base / fine-tuned, and for a fine-tuned model the base it
started from (the evaluated base's name, its weights, its name in the study). Only models
without one (a flat table from elsewhere, a study made before run manifests) fall back to
names and training-run directories — `loading` notes when that happened.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ftbench.report.runs import match_run
from ftbench.report.section import Context


def is_untrained(ctx: Context, name: str) -> bool:
    """A model evaluated as it came: its manifest says base; without one, no adapter in its
    spec and no train size."""
    typed = ctx.data.manifests.get(name)
    if typed is not None:
        return typed.role == "base"
    spec = ctx.data.specs.get(name) or {}
    row = ctx.table[ctx.table["model"] == name].iloc[0]
    return not spec.get("adapter") and pd.isna(row.get("train_size"))


def base_models(ctx: Context) -> list[str]:
    """Every base model, in table order: manifests decide; untyped models by name or specs."""
    out = []
    for name in ctx.table["model"]:
        typed = ctx.data.manifests.get(name)
        if typed is not None:
            if typed.role == "base":
                out.append(name)
        elif "base" in name.lower() or (ctx.data.specs.get(name) and is_untrained(ctx, name)):
            out.append(name)
    return out


def default_base(ctx: Context) -> str | None:
    """The report's one base (sections 7-9): with manifests, the base most fine-tuned models
    started from; without, the first named like `*base*`, else a spec'd untrained model."""
    bases = base_models(ctx)
    if not bases:
        return None
    if any(b in ctx.data.manifests for b in bases):
        pairs, _ = _typed_pairs(ctx, bases)
        counts = {b: list(pairs.values()).count(b) for b in bases}
        return max(bases, key=lambda b: counts[b])  # first on ties
    named = [b for b in bases if "base" in b.lower()]
    return (named or bases)[0]


def pair_bases(ctx: Context) -> tuple[dict[str, str], list[str]]:
    """fine-tuned model -> its base model, and the fine-tuned models no base was found for."""
    bases = base_models(ctx)
    if ctx.shared.base and ctx.shared.base not in bases:
        bases.insert(0, ctx.shared.base)  # the user's `baseline`
    pairs, unmatched = _typed_pairs(ctx, bases)
    untyped = [m for m in ctx.table["model"]
               if m not in bases and m not in ctx.data.manifests]
    for model in untyped:
        match = _untyped_base(ctx, model, bases)
        if match:
            pairs[model] = match
        else:
            unmatched.append(model)
    return pairs, unmatched


def _typed_pairs(ctx: Context, bases: list[str]) -> tuple[dict[str, str], list[str]]:
    """Fine-tuned models with a manifest: the base the study named, else the evaluated base
    with the same weights, else the same base name. Never a guess."""
    manifests = ctx.data.manifests
    pairs, unmatched = {}, []
    for model in ctx.table["model"]:
        typed = manifests.get(model)
        if typed is None or typed.role != "fine-tuned" or model in bases:
            continue
        typed_bases = [b for b in bases if b in manifests]
        named = [b for b in bases if b == typed.base_evaluated_as]
        by_path = [b for b in typed_bases
                   if _same_model(manifests[b].base_model_path, typed.base_model_path)]
        by_name = [b for b in typed_bases if manifests[b].base_model == typed.base_model]
        match = (named or by_path or by_name or [None])[0]
        if match:
            pairs[model] = match
        else:
            unmatched.append(model)
    return pairs, unmatched


def _untyped_base(ctx: Context, model: str, bases: list[str]) -> str | None:
    """One base: everyone's. Several: the base whose weights the model's training run started
    from, else the base named `<series>-base` / `<series>`, else the report's base."""
    if not bases:
        return None
    if len(bases) == 1:
        return bases[0]
    t = ctx.table.set_index("model")
    run = match_run(model, ctx.data.specs.get(model), ctx.data.runs)
    started = run.manifest.get("base_model") if run is not None else None
    by_path = [b for b in bases
               if _same_model(started, (ctx.data.specs.get(b) or {}).get("pretrained"))]
    series = str(t.at[model, "base_model"]) if "base_model" in t else ""
    by_name = [b for b in bases if b in (series, f"{series}-base")]
    return (by_path or by_name or [ctx.shared.base])[0]


def _same_model(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return a.rstrip("/") == b.rstrip("/")
