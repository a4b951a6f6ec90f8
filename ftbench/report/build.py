"""`ftbench report`: load a source, compute every section it allows, write CSV/PNG/markdown.

Reads result files only (no model is loaded), so it re-runs in seconds. What cannot be computed
from the source is listed as skipped, with the reason, in summary.md and the returned dict.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from rich.console import Console

from ftbench.core.io import InputError, atomic_write_text
from ftbench.report import compare as comparisons
from ftbench.report import loading, markdown, plots, significance, tables, terminal
from ftbench.report.answers import answers_section
from ftbench.report.baselines import baselines_section
from ftbench.report.findings import key_findings
from ftbench.report.forgetting import forgetting
from ftbench.report.forgetting_plots import change_vs_train_size, tradeoff
from ftbench.report.leakage import leakage
from ftbench.report.measured import measured_table, write_measured
from ftbench.report.output_dir import check_report_dir, finish_report_dir
from ftbench.report.page import write_page
from ftbench.report.per_example import per_category, per_example
from ftbench.report.recommend import resolution_section
from ftbench.report.runs import match_run
from ftbench.report.section import Context, Options, Section
from ftbench.report.settings import check_report_settings
from ftbench.report.tables import headline_columns
from ftbench.report.vocab import OVERALL, PLOT_GROUPS, perplexity_column

SECTIONS = (tables.ranking, resolution_section, tables.by_train_size, tables.by_family,
            tables.per_task, leakage, baselines_section, answers_section, tables.perplexity,
            tables.descriptives, comparisons.base_vs_finetuned, per_example, per_category,
            comparisons.paired,
            comparisons.qualitative, significance.significance)


NO_HEADLINE = "no model has the overall score or any headline metric"


def _score_column(data: loading.ReportData) -> str | None:
    """The column models are ranked by; None: nothing to rank by (a study falls back to the
    report of what was measured, a flat table has nothing else)."""
    if data.table[OVERALL].notna().any():
        return OVERALL
    fallback = headline_columns(data.table, data.domain.suite)
    if not fallback:
        if data.kind != "study":
            raise InputError(f"{data.source}: {NO_HEADLINE}; nothing to report")
        return None
    data.notes.append(f"no model has {OVERALL}: models are ranked by {fallback[0]}")
    return fallback[0]


def _measured_report(data: loading.ReportData, out: Path, options: Options, t0: float,
                     console: Console | None) -> dict:
    """The fallback: each task's metrics as lm-eval gave them (`ftbench.report.measured`)."""
    models = data.table["model"].tolist()
    table = measured_table({m: data.model_dirs[m] for m in models})
    if table.empty:
        raise InputError(f"{data.source}: {NO_HEADLINE}, and no results file holds a metric; "
                         "nothing to report")
    why = (f"{NO_HEADLINE} (the tasks {', '.join(sorted(set(table['task'])))} declare no "
           "report columns): this is the report of what was measured.")
    notes = [n for n in data.notes if n.startswith("model ")]  # what was left out, and why
    written = write_measured(table, out, data.source, why, notes)
    finish_report_dir(out, written, Path(data.source), asdict(options))
    (console or Console()).print(f"{why}\nreport: {written[1]} ({len(models)} model(s), "
                                 f"{table['task'].nunique()} task(s); tables/measured.csv)")
    return {"out": out, "summary": written[1], "page": written[2], "source": data.source,
            "kind": data.kind, "score": None, "models": models,
            "tables": {"measured": written[0]}, "plots": {}, "sections": {"measured": "written"},
            "skipped": [], "notes": notes, "seconds": round(time.time() - t0, 2)}


def training_section(ctx: Context) -> Section:
    sec = Section("training", "11. Training runs")
    if not ctx.data.runs:
        return sec.skip("no training runs (manifest.json / history.json) found; pass --runs DIR "
                        "to ftbench report")
    rows = []
    models = ctx.table["model"].tolist()
    for run in ctx.data.runs:
        model = next((m for m in models
                      if match_run(m, ctx.data.specs.get(m), [run]) is not None), None)
        rows.append({"run": run.name, "model": model, **run.facts,
                     "history_points": 0 if run.history is None else len(run.history)})
    sec.tables["training_runs"] = pd.DataFrame(rows)
    parity = [{"run": run.name, **{k: run.manifest["merge_parity"].get(k) for k in PARITY_COLUMNS}}
              for run in ctx.data.runs if isinstance(run.manifest.get("merge_parity"), dict)]
    if parity:  # runs trained since merges are probed (train/merge_parity.py)
        table = pd.DataFrame(parity)
        sec.tables["merge_parity"] = table
        broken = table[~table["ok"].astype(bool)]
        if broken.empty:
            sec.text.append(
                f"Merge parity: every merged checkpoint ({len(table)}) answers its probe as its "
                f"adapter does (max |Δ logit| {table['max_abs_logit_diff'].max():.2g}, within "
                "what the export dtype's rounding explains; `tables/merge_parity.csv`).")
        for row in broken.to_dict("records"):
            sec.text.append(f"**WARNING — merge parity, {row['run']}**: {row['note']}; its "
                            "evaluated (merged) scores may not be the adapter's.")
        for row in table[table["adapter_all_zero"].eq(True)].to_dict("records"):
            sec.text.append(f"**Adapter had no effect — {row['run']}**: every LoRA B weight is "
                            "zero, so its merged model is its base (no step taken, or a learning "
                            "rate of 0); its scores are the base's.")
    return sec


PARITY_COLUMNS = ("dtype", "max_abs_logit_diff", "tolerance", "greedy_tokens_equal",
                  "greedy_tokens", "ok", "adapter_all_zero", "note")


def _add_plots(ctx: Context, secs: dict[str, Section], out: Path) -> dict[str, Path]:
    written: dict[str, Path] = {}
    pdir = out / "plots"
    cis = secs["significance"].tables.get("metric_ci")
    t = ctx.table

    def add(key: str, name: str, path: Path | None) -> None:
        if path is not None:
            written[name] = path
            secs[key].plots[name] = str(path.relative_to(out))

    adjacent = ctx.shared.adjacent_ranks
    one_item = adjacent["one_item"].iloc[0] if adjacent is not None and len(adjacent) else None
    add("ranking", "ranking", plots.ranking(t, ctx.score, ctx.shared.vs_leader,
                                            pdir / "ranking.png", one_item=one_item))
    for name in list(PLOT_GROUPS):
        add("per_task", f"task_{name}", plots.task_comparison(t, name, cis,
                                                             pdir / f"task_{name}.png"))
    add("train_size", "score_vs_train_size", plots.score_vs_train_size(
        t, ctx.score, ctx.shared.scaling_fit, pdir / "score_vs_train_size.png",
        sig=ctx.shared.vs_leader))
    ppl = perplexity_column(t.columns)
    if ppl:
        add("perplexity", "perplexity", plots.perplexity(t, ppl, pdir / "perplexity.png"))
    add("training", "loss_curves", plots.loss_curves(ctx.data.runs, pdir / "loss_curves.png"))
    add("forgetting", "forgetting_tradeoff", tradeoff(
        ctx.shared.forgetting_tradeoff, pdir / "forgetting_tradeoff.png"))
    add("forgetting", "forgetting_vs_train_size", change_vs_train_size(
        ctx.shared.forgetting_by_train_size, pdir / "forgetting_vs_train_size.png"))
    for (model, task), cm in (ctx.shared.confusion or {}).items():
        name = f"confusion_{plots.slug(model)}_{task}"
        add("base_vs_finetuned", name, plots.confusion(cm, f"{model} — {task}",
                                                       pdir / f"{name}.png"))
    return written


def _suite_hooks(ctx: Context):
    """The study hooks of the results' suite (`Suite.study`), or None."""
    from ftbench.suites.registry import get_suite

    if ctx.data.domain.suite is None:
        return None
    try:
        return get_suite(ctx.data.domain.suite).study
    except InputError:
        return None


def suite_sections(ctx: Context) -> list[Section]:
    """The sections the results' suite adds (its own experiments, read its own way)."""
    hooks = _suite_hooks(ctx)
    return list(hooks.report_sections(ctx)) if hooks and hooks.report_sections else []


def suite_files(ctx: Context, sections: list[Section], out: Path) -> dict[str, Path]:
    """The files behind the suite's sections (plots, per-experiment folders), written now."""
    hooks = _suite_hooks(ctx)
    return dict(hooks.report_files(ctx, sections, out)) if hooks and hooks.report_files else {}


def compute_sections(ctx: Context) -> list[Section]:
    """Every section for a loaded context, key findings first; nothing is written."""
    ctx.shared.base = comparisons.find_base(ctx)
    ctx.shared.focus = comparisons.focus_pair(ctx)
    ctx.shared.vs_leader = significance.vs_leader(ctx)
    sections = ([fn(ctx) for fn in SECTIONS] + [training_section(ctx), forgetting(ctx)]
                + suite_sections(ctx))
    return [key_findings(ctx, sections), *sections]  # drawn from every table: computed last


def report_main(source: Path, out: Path, *, top_n: int = 5,
                compare: tuple[str, str] | None = None, baseline: str | None = None,
                metric: str | None = None, tie_threshold: float = 0.01, n_samples: int = 5,
                mapping: Path | None = None, runs: Path | None = None,
                console: Console | None = None, n_boot: int = 1000, seed: int = 0,
                name_files: bool = True) -> dict:
    """Write summary.md, index.html, tables/*.csv and plots/*.png for `source` into `out`.
    `name_files`: the terminal summary's last line names index.html and summary.md (False:
    the caller's own last line does, as `ftbench study` does after its last stage).

    Returns {"out", "summary", "page", "tables": {name: path}, "plots": {name: path},
    "sections": {key: "written" | "partial" | "skipped"}, "skipped": [...], "notes": [...],
    "seconds"}. Unusable input raises ftbench.core.io.InputError naming what is missing.
    """
    t0 = time.time()
    check_report_settings(top_n, tie_threshold, n_samples)
    if compare is not None and len(compare) != 2:
        raise InputError(f"compare needs exactly two model names, got {compare!r}")
    out = Path(out)
    check_report_dir(out)  # a file or a foreign non-empty --out is refused before any work
    data = loading.load(Path(source), runs=runs, mapping=mapping)
    options = Options(top_n=top_n, compare=tuple(compare) if compare else None,
                      baseline=baseline, metric=metric, tie_threshold=tie_threshold,
                      n_samples=n_samples, n_boot=n_boot, seed=seed)
    score = _score_column(data)
    if score is None:
        return _measured_report(data, out, options, t0, console)
    ctx = Context(data=data, options=options, score=score)
    sections = compute_sections(ctx)
    secs = {s.key: s for s in sections}
    written_plots = _add_plots(ctx, secs, out)
    own = suite_files(ctx, sections, out)
    written_plots.update({n: p for n, p in own.items() if p.parent == out / "plots"})
    others = [p for p in own.values() if p.parent != out / "plots"]
    written_tables: dict[str, Path] = {}
    for sec in sections:
        for name, frame in sec.tables.items():
            path = out / "tables" / f"{name}.csv"
            atomic_write_text(path, frame.to_csv(index=False))
            written_tables[name] = path
    skipped = [f"{s.title}: {reason}" for s in sections for reason in s.skipped]
    status = {s.key: "skipped" if s.empty else "partial" if s.skipped else "written"
              for s in sections}
    summary = out / "summary.md"
    text = markdown.render(ctx, sections, {n: str(p.relative_to(out))
                                           for n, p in written_plots.items()},
                           skipped, data.notes)
    atomic_write_text(summary, text)
    page = write_page(ctx, sections, out / "index.html", skipped, data.notes)
    finish_report_dir(out, [*written_tables.values(), *written_plots.values(), *others, summary,
                            page],
                      Path(source), asdict(options))
    result = {"out": out, "summary": summary, "page": page, "source": data.source,
              "kind": data.kind,
              "score": ctx.score, "models": data.table["model"].tolist(),
              "tables": written_tables, "plots": written_plots, "sections": status,
              "skipped": skipped, "notes": list(data.notes),
              "seconds": round(time.time() - t0, 2)}
    terminal.print_summary(ctx, sections, result, console, name_files)
    return result
