"""`summary.md`: every section's findings and tables (trimmed for reading), plots, skips, notes.

The CSVs hold the full tables; the markdown trims long ones (top/bottom N of the ranking, one
fine-tuned model of the base comparison) so the summary stays readable at 24+ models.
"""

from __future__ import annotations

import math

import pandas as pd

from ftbench.report.section import Context, Section
from ftbench.report.vocab import KEY_METRICS, OVERALL

MAX_ROWS = 30


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool,)):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.1f}"
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines)


def view(name: str, frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, str]:
    """The part of a table worth reading, and a caption saying what was left out. A
    `correction` column with one family is said once in the caption instead of on every row."""
    shown, caption = _view(name, frame, ctx)
    if "correction" in shown:
        families = [c for c in dict.fromkeys(shown["correction"].dropna()) if c]
        if len(families) <= 1:
            shown = shown.drop(columns=["correction"])
            if families:
                caption = "; ".join(x for x in (caption, f"verdicts: {families[0]}") if x)
    return shown, caption


def _view(name: str, frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, str]:
    n = ctx.options.top_n
    if frame.empty:
        return frame, "empty"
    if name == "ranking" and len(frame) > 2 * n:
        gap = pd.DataFrame([{c: ("…" if c == "model" else None) for c in frame.columns}])
        return pd.concat([frame.head(n), gap, frame.tail(n)], ignore_index=True), \
            f"top {n} and bottom {n} of {len(frame)}"
    if name == "base_vs_finetuned":
        pair = ctx.shared.pair or ctx.shared.focus
        focus = pair[1] if pair else None
        if focus in set(frame["model"]):
            return frame[frame["model"] == focus], f"{focus} only; all models in the CSV"
    if name == "per_example_comparison":
        return _per_example_view(frame, ctx)
    if name == "models":
        cols = [c for c in ("model", "family", "params_b", "train_size", "base_model",
                            "meta_source") if c in frame]
        return frame[cols].head(MAX_ROWS), "where each model's facts came from; all metrics in the CSV"
    if name == "confusion":
        return frame.iloc[0:0], "shown as plots"
    if name == "findings":
        return frame.iloc[0:0], "the sentences above, one row each"
    if name == "metric_ci":
        keep = frame[frame["metric"].isin([OVERALL, *KEY_METRICS])]
        return keep, "headline metrics; all metrics in the CSV"
    if name == "scaling_fit":
        cols = ["scope", "fit", "formula", "r2", "aic", "plateau", "plateau_se", "plateau_lo",
                "plateau_hi", "n_95", "gain_per_doubling", "note"]
        return frame[cols], "main columns; parameters and their stderr in the CSV"
    if len(frame) > MAX_ROWS:
        return frame.head(MAX_ROWS), f"first {MAX_ROWS} of {len(frame)} rows"
    return frame, ""


def _per_example_view(frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, str]:
    """The published per-question table: one fine-tuned model (the detailed pair's, else the
    first) by its headline metric."""
    pair = ctx.shared.pair or ctx.shared.focus
    model = pair[1] if pair and pair[1] in set(frame["model"]) else frame["model"].iloc[0]
    rows = frame[frame["model"] == model]
    metric = rows["metric"].iloc[0]
    rows = rows[rows["metric"] == metric].drop(columns=["model", "base", "metric"])
    caption = f"{model} by {metric}; every model and metric in the CSV"
    if len(rows) > MAX_ROWS:
        rows, caption = rows.head(MAX_ROWS), f"{caption}; first {MAX_ROWS} of {len(rows)} items"
    return rows, caption


def render(ctx: Context, sections: list[Section], plots: dict[str, str],
           skipped: list[str], notes: list[str]) -> str:
    data = ctx.data
    kind = "study directory" if data.kind == "study" else "flat table"
    intro = (f"Source: `{data.source}` ({kind}, {len(data.table)} models). Ranking score: "
             f"`{ctx.score}`. Every number below is computed from the result files.")
    out = [f"# ftbench report — {data.source.name}", "", intro, ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        out += [line + "  " for line in sec.text]
        if sec.text:
            out.append("")
        for name, frame in sec.tables.items():
            shown, caption = view(name, frame, ctx)
            label = f"**{name}** (`tables/{name}.csv`" + (f"; {caption}" if caption else "") + ")"
            out += [label, ""]
            if not shown.empty:
                out += [md_table(shown), ""]
        for name, rel in sec.plots.items():
            out += [f"![{name}]({rel})", ""]
        for reason in sec.skipped:
            out.append(f"- _skipped_: {reason}")
        if sec.skipped:
            out.append("")
    out += ["## Plots", ""] + [f"- `{rel}` — {name}" for name, rel in plots.items()]
    out += ["", "## Skipped", ""] + ([f"- {s}" for s in skipped] or ["- nothing"])
    out += ["", "## Notes on the input", ""] + ([f"- {n}" for n in notes] or ["- none"])
    return "\n".join(out) + "\n"
