"""The rich terminal summary: the few tables a researcher looks at first, plus what was skipped.

Everything shown here is also in summary.md; the terminal only picks the headline views: per
task, the report's one headline metric (`tables.task_headlines`), never a different number for
the same task than the findings quote.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from ftbench.report.markdown import fmt, view
from ftbench.report.section import Context, Section
from ftbench.report.tables import task_headlines

_SHOW = {
    "ranking": ["rank", "model", "train_size", "overall_score", "ci_lo", "ci_hi", "vs_leader"],
    "resolution": ["task", "metric", "n", "item_value", "overall_per_item", "mde"],
    "recommendations": ["recommendation", "winner", "leader", "score", "verdict", "tied_with"],
    "class_baselines": ["model", "task", "n", "accuracy", "majority_acc", "balanced_acc",
                        "macro_f1", "collapsed", "p_vs_majority", "vs_majority"],
    "train_size_summary": ["train_size", "n_models", "mean", "best", "best_model", "range"],
    "family_comparison": None,
    "perplexity_by_family": None,
    "score_correlations": ["x", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"],
    "base_vs_finetuned": ["model", "metric", "base_value", "finetuned_value", "abs_change",
                          "p", "p_holm", "significant"],
    "paired_summary": ["metric", "n", "mean_a", "mean_b", "diff", "p_holm", "significant",
                       "b_better", "b_worse", "similar"],
    "significance_vs_leader": None,
    "forgetting": ["model", "benchmark", "metric", "filter", "base_value", "finetuned_value",
                   "abs_change", "lost", "gained", "p_holm"],
    "forgetting_tradeoff": ["model", "train_size", "domain_gain", "general_change",
                            "significant_losses"],
}
_MAX_COLS = 10
_BANDS = ["band", "n_models"]  # `<accuracy column>_bands` (tables.per_task)
_BY_METRIC = ("base_vs_finetuned", "paired_summary")  # one row per metric: headlines only


def _rich_table(title: str, frame: pd.DataFrame) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold",
                         justify="right" if pd.api.types.is_numeric_dtype(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[fmt(v) for v in row])
    return table


def print_summary(ctx: Context, sections: list[Section], result: dict,
                  console: Console | None = None, name_files: bool = True) -> None:
    """Key findings first, then each section's text and headline tables; the last line names
    index.html and summary.md (`name_files`), so a terminal's end points at the page."""
    console = console or Console()
    data = ctx.data
    console.rule(f"ftbench report — {data.source.name}")
    heads = [ctx.score, *task_headlines(ctx.table, ctx.data.domain.suite)]
    console.print(f"{len(data.table)} models from {'a study' if data.kind == 'study' else 'a flat table'}"
                  f"; ranking score [bold]{ctx.score}[/]; per task: {', '.join(heads[1:])}")
    for sec in sections:
        shown = [(n, f) for n, f in sec.tables.items() if n in _SHOW or n.endswith("_bands")]
        if not shown and not sec.text:
            continue
        console.print(f"\n[bold cyan]{sec.title}[/]")
        for line in sec.text:
            console.print("  " + line.replace("**", ""))
        for name, frame in shown:
            part, caption = view(name, frame, ctx)
            cols = _SHOW.get(name, _BANDS) or list(part.columns)
            if name in _BY_METRIC:
                part = part[part["metric"].isin(heads)]
            elif name == "forgetting" and "headline" in frame:
                part = part[frame.loc[part.index, "headline"].eq(True)]
            part = part[[c for c in cols if c in part.columns][:_MAX_COLS]]
            if not part.empty:
                console.print(_rich_table(f"{name}" + (f" ({caption})" if caption else ""), part))
    if result.get("skipped"):
        console.print("\n[bold yellow]Skipped[/]")
        for item in result["skipped"]:
            console.print(f"  - {item}")
    if result.get("notes"):
        console.print(f"\n[yellow]{len(result['notes'])} note(s) on the input[/] (see summary.md)")
    wrote = f"\nWrote {len(result['tables'])} tables and {len(result['plots'])} plots"
    if not name_files:  # the caller's own last line names them (`ftbench study`)
        console.print(wrote + ".")
        return
    page = f"{result['page']} (one page), " if result.get("page") else ""
    console.print(f"{wrote}; the report: {page}{result['summary']} (markdown).",
                  soft_wrap=True, highlight=False)  # one line: paths stay whole to copy
