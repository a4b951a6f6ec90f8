"""PNG figures (matplotlib, Agg backend: no display needed) with readable, horizontal labels.

Each function draws one figure from the tables the sections computed and returns the file it
wrote, or None when its data is absent; `build` lists the files in summary.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from ftbench.report import scaling
from ftbench.report.vocab import PLOT_GROUPS


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def save_figure(fig, path: Path) -> Path:
    """Every report PNG: same resolution and tight bounds; the figure is closed (no leak)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def interval_label(cis: pd.DataFrame | None, metrics) -> str:
    """What the whiskers are, and over how many items: the caption every plot carries."""
    if cis is None or cis.empty:
        return "no interval: a flat table has no per-item results"
    sub = cis[cis["metric"].isin(list(metrics))]
    if sub.empty:
        return "no interval"
    methods = ", ".join(sorted(set(sub["ci_method"].dropna()))) if "ci_method" in sub else ""
    ns = sorted({int(n) for n in sub["n"].dropna()})
    n = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"
    return f"whiskers: 95% CI ({methods}), {n} items per model"


def task_comparison(table: pd.DataFrame, name: str, cis: pd.DataFrame | None,
                    path: Path) -> Path | None:
    """Horizontal grouped bars: one group per model, one bar per metric (+95% CI if known)."""
    metrics = [m for m in PLOT_GROUPS[name] if m in table and table[m].notna().any()]
    if not metrics:
        return None
    t = table.dropna(subset=metrics, how="all")
    height = 0.8 / len(metrics)
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 1.8 + 0.12 * len(t) * len(metrics)))
    top = 0.0
    for k, metric in enumerate(metrics):
        values = t[metric].to_numpy(dtype=float)
        err = None
        if cis is not None and not cis.empty:
            ci = cis[cis["metric"] == metric].set_index("model")
            lo = np.array([ci["ci_lo"].get(m, np.nan) for m in t["model"]])
            hi = np.array([ci["ci_hi"].get(m, np.nan) for m in t["model"]])
            if not np.isnan(lo).all():
                err = np.nan_to_num(np.vstack([values - lo, hi - values]).clip(min=0))
                top = max(top, float(np.nanmax(np.where(np.isnan(hi), values, hi))))
        top = max(top, float(np.nanmax(values)))
        ax.barh(y + k * height, values, height, xerr=err, capsize=2, label=metric)
    ax.set_yticks(y + height * (len(metrics) - 1) / 2, t["model"])
    ax.margins(y=0.01)
    ax.invert_yaxis()  # best-ranked model and first metric on top, as in the legend
    ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)  # bars start at 0; the axis ends at the data
    ax.set_xlabel(f"score (higher is better); {interval_label(cis, metrics)}")
    ax.set_title(f"Per-model comparison: {name.replace('_', ' / ')} ({len(t)} models)", pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(metrics), fontsize=8,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def _fit_axis(ax, low: float, high: float) -> None:
    """x-limits around the data (and its whiskers) with a small margin, never the default 0."""
    span = max(high - low, abs(high) * 0.01, 0.01)  # equal scores still get a readable axis
    ax.set_xlim(low - 0.08 * span, high + 0.08 * span)


def ranking(table: pd.DataFrame, score: str, sig: pd.DataFrame | None, path: Path,
            one_item: float | None = None) -> Path | None:
    """Dot plot of the ranking score, leader on top: 95% CI whiskers and the leader's tie
    marks from per-item results, else a band of one item's worth below the leader."""
    t = table.dropna(subset=[score]).sort_values(score, ascending=False, kind="stable")
    if t.empty:
        return None
    t = t.iloc[::-1]  # leader on top
    values = t[score].to_numpy(dtype=float)
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + 0.3 * len(t)))
    low, high = float(values.min()), float(values.max())
    colors, handles = ["tab:blue"] * len(t), []
    if sig is not None:
        s = sig.set_index("model").reindex(t["model"])
        lo, hi = s["ci_lo"].to_numpy(dtype=float), s["ci_hi"].to_numpy(dtype=float)
        err = np.nan_to_num(np.vstack([values - lo, hi - values]).clip(min=0))
        ax.errorbar(values, y, xerr=err, fmt="none", ecolor="0.35", capsize=2, zorder=1)
        palette = {"leader": "tab:blue", "n.s.": "tab:cyan", "sig.": "tab:gray"}
        colors = [palette.get(v, "tab:gray") for v in s["vs_leader"]]
        handles = [Patch(color=c, label=lbl) for lbl, c in (
            ("leader", "tab:blue"), ("not sig. different from leader", "tab:cyan"),
            ("sig. below leader (Holm, all pairs)", "tab:gray"))]
        low, high = float(np.nanmin(np.fmin(lo, values))), float(np.nanmax(np.fmax(hi, values)))
        n = int(s["n_items"].max()) if "n_items" in s and s["n_items"].notna().any() else 0
        method = ", ".join(sorted(set(s["ci_method"].dropna()))) if "ci_method" in s else ""
        caption = f"whiskers: 95% CI ({method}) over n = {n} articles"
    elif one_item and not np.isnan(one_item):
        ax.axvspan(high - one_item, high, color="tab:orange", alpha=0.2, zorder=0)
        handles = [Patch(color="tab:orange", alpha=0.3,
                         label=f"within one type item ({one_item:.4f}) of the leader")]
        caption = "no interval: a flat table has no per-item results"
    else:
        caption = "no interval: a flat table has no per-item results"
    ax.scatter(values, y, color=colors, zorder=2, s=28)
    ax.set_yticks(y, t["model"])
    _fit_axis(ax, low, high)
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set_xlabel(f"{score}; {caption}")
    ax.set_title(f"Ranking by {score} ({len(t)} models)")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def score_vs_train_size(table: pd.DataFrame, score: str, fits: pd.DataFrame | None,
                        path: Path, sig: pd.DataFrame | None = None) -> Path | None:
    t = table.dropna(subset=[score, "train_size"]) if "train_size" in table else table.iloc[0:0]
    if t.empty:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    ci = sig.set_index("model") if sig is not None else None
    for base, grp in t.sort_values("train_size").groupby("base_model"):
        err = None
        if ci is not None:
            lo = ci["ci_lo"].reindex(grp["model"]).to_numpy(dtype=float)
            hi = ci["ci_hi"].reindex(grp["model"]).to_numpy(dtype=float)
            err = np.nan_to_num(np.vstack([grp[score] - lo, hi - grp[score]]).clip(min=0))
        ax.errorbar(grp["train_size"], grp[score], yerr=err, marker="o", capsize=2,
                    label=str(base))
    caption = "whiskers: 95% CI over the test articles" if ci is not None else \
        "no interval: a flat table has no per-item results"
    if fits is not None and not fits.empty:
        overall = fits[(fits["scope"] == "all models") & fits["aic"].notna()]
        xs = np.linspace(t["train_size"].min(), t["train_size"].max(), 100)
        for _, row in overall.iterrows():
            ax.plot(xs, scaling.curve(row["fit"], row.to_dict(), xs), linestyle="--",
                    color="black", alpha=0.6 if row["fit"] == "log" else 0.9, linewidth=1,
                    label=f"fit: {row['formula']}")
        sat = overall[overall["fit"] != "log"].dropna(subset=["plateau_lo"]).sort_values("aic")
        if not sat.empty:
            best = sat.iloc[0]
            ax.axhspan(best["plateau_lo"], best["plateau_hi"], color="tab:green", alpha=0.12,
                       label=f"plateau 95% CI ({best['fit']})")
            caption += "; band: the plateau's 95% CI"
    ax.set_xlabel(f"training size (examples); {caption}", fontsize=8)
    ax.set_ylabel(score)
    ax.set_title(f"Score vs training size ({len(t)} models)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def perplexity(table: pd.DataFrame, column: str, path: Path) -> Path | None:
    t = table.dropna(subset=[column]).sort_values(column, ascending=False)
    if t.empty:
        return None
    fams = t["family"].fillna("unknown") if "family" in t else pd.Series("all", index=t.index)
    colors = {f: plt.cm.tab10(i % 10) for i, f in enumerate(sorted(fams.unique()))}
    fig, ax = plt.subplots(figsize=(8, 1 + 0.3 * len(t)))
    ax.barh(t["model"], t[column], color=[colors[f] for f in fams])
    if t[column].max() / max(t[column].min(), 1e-9) > 100:
        ax.set_xscale("log")
    ax.legend(handles=[Patch(color=c, label=f) for f, c in colors.items()], fontsize=8)
    ax.set_xlabel(f"{column} (lower is better); no interval (see metric_ci for per-article CIs)")
    ax.set_title(f"Perplexity by model ({len(t)} models)")
    return save_figure(fig, path)


def loss_curves(runs, path: Path) -> Path | None:
    runs = [r for r in runs if r.history is not None and not r.history.empty]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, run in enumerate(runs):
        color = plt.cm.tab10(i % 10)
        h = run.history
        tr, ev = h.dropna(subset=["train_loss"]), h.dropna(subset=["eval_loss"])
        if not tr.empty:
            ax.plot(tr["step"], tr["train_loss"], color=color, label=f"{run.name} train")
        if not ev.empty:
            ax.plot(ev["step"], ev["eval_loss"], color=color, linestyle="--", marker="o",
                    markersize=3, label=f"{run.name} eval")
    ax.set_xlabel("step; single runs, no interval")
    ax.set_ylabel("loss")
    ax.set_title(f"Training and evaluation loss ({len(runs)} runs)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def confusion(cm: dict, title: str, path: Path) -> Path:
    labels, matrix = cm["labels"], np.array(cm["matrix"])
    rows = labels[:-1] if labels[-1] == "unparseable" and not matrix[-1].any() else labels
    matrix = matrix[: len(rows)]  # gold is never unparseable: drop that empty row
    fig, ax = plt.subplots(figsize=(6, 1 + 0.8 * len(rows)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(labels)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title if "n=" in title else f"{title} (n={int(matrix.sum())})")
    return save_figure(fig, path)
