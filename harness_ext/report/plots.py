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

from harness_ext.report import scaling

TASK_PLOTS = {
    "summarization": ("summ_rouge1_f1", "summ_rouge2_f1", "summ_rougeL_f1", "summ_bertscore_f1"),
    "title": ("title_rouge1_f1", "title_rouge2_f1", "title_rougeL_f1", "title_bertscore_f1"),
    "tags_type": ("tag_exact_match", "tag_jaccard", "tag_f1", "type_accuracy",
                  "type_mc_accuracy"),
}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def save_figure(fig, path: Path) -> Path:
    """Every report PNG: same resolution and tight bounds; the figure is closed (no leak)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def task_comparison(table: pd.DataFrame, name: str, cis: pd.DataFrame | None,
                    path: Path) -> Path | None:
    """Horizontal grouped bars: one group per model, one bar per metric (+95% CI if known)."""
    metrics = [m for m in TASK_PLOTS[name] if m in table and table[m].notna().any()]
    if not metrics:
        return None
    t = table.dropna(subset=metrics, how="all")
    height = 0.8 / len(metrics)
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.12 * len(t) * len(metrics)))
    for k, metric in enumerate(metrics):
        values = t[metric].to_numpy(dtype=float)
        err = None
        if cis is not None and not cis.empty:
            ci = cis[cis["metric"] == metric].set_index("model")
            lo = np.array([ci["ci_lo"].get(m, np.nan) for m in t["model"]])
            hi = np.array([ci["ci_hi"].get(m, np.nan) for m in t["model"]])
            if not np.isnan(lo).all():
                err = np.nan_to_num(np.vstack([values - lo, hi - values]).clip(min=0))
        ax.barh(y + k * height, values, height, xerr=err, capsize=2, label=metric)
    ax.set_yticks(y + height * (len(metrics) - 1) / 2, t["model"])
    ax.invert_yaxis()  # best-ranked model and first metric on top, as in the legend
    ax.set_xlabel("score (higher is better)" + ("; bars: 95% bootstrap CI" if cis is not None
                                                and not cis.empty else ""))
    ax.set_title(f"Per-model comparison: {name.replace('_', ' / ')}")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def ranking(table: pd.DataFrame, score: str, sig: pd.DataFrame | None, path: Path) -> Path | None:
    t = table.dropna(subset=[score]).sort_values(score, ascending=False, kind="stable")
    if t.empty:
        return None
    t = t.iloc[::-1]  # leader on top
    fig, ax = plt.subplots(figsize=(8, 1 + 0.3 * len(t)))
    err, colors = None, ["tab:blue"] * len(t)
    if sig is not None:
        s = sig.set_index("model").reindex(t["model"])
        err = np.nan_to_num(np.vstack([t[score].to_numpy() - s["ci_lo"].to_numpy(),
                                       s["ci_hi"].to_numpy() - t[score].to_numpy()]).clip(min=0))
        palette = {"leader": "tab:blue", "n.s.": "tab:cyan", "sig.": "tab:gray"}
        colors = [palette.get(v, "tab:gray") for v in s["vs_leader"]]
        for label, color in (("leader", "tab:blue"), ("not sig. different from leader", "tab:cyan"),
                             ("sig. below leader", "tab:gray")):
            ax.bar(0, 0, color=color, label=label)
        ax.legend(fontsize=7, loc="lower right")
    ax.barh(t["model"], t[score], xerr=err, capsize=2, color=colors)
    ax.set_xlabel(score + ("  (95% bootstrap CI)" if err is not None else ""))
    ax.set_title("Overall ranking")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def score_vs_train_size(table: pd.DataFrame, score: str, fits: pd.DataFrame | None,
                        path: Path) -> Path | None:
    t = table.dropna(subset=[score, "train_size"]) if "train_size" in table else table.iloc[0:0]
    if t.empty:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for base, grp in t.sort_values("train_size").groupby("base_model"):
        ax.plot(grp["train_size"], grp[score], marker="o", label=str(base))
    if fits is not None and not fits.empty:
        overall = fits[(fits["scope"] == "all models") & fits["aic"].notna()]
        xs = np.linspace(t["train_size"].min(), t["train_size"].max(), 100)
        for _, row in overall.iterrows():
            ax.plot(xs, scaling.curve(row["fit"], row.to_dict(), xs), linestyle="--",
                    color="black", alpha=0.6 if row["fit"] == "log" else 0.9, linewidth=1,
                    label=f"fit: {row['formula']}")
    ax.set_xlabel("training size (examples)")
    ax.set_ylabel(score)
    ax.set_title("Score vs training size")
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
    for fam, color in colors.items():
        ax.bar(0, 0, color=color, label=fam)
    ax.legend(fontsize=8)
    ax.set_xlabel(f"{column} (lower is better)")
    ax.set_title("Perplexity by model")
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
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training and evaluation loss")
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
    ax.set_title(title)
    return save_figure(fig, path)
