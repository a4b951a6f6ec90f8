"""Forgetting figures: the domain-gain vs general-change trade-off, and change vs training size.

The trade-off plot puts one point per fine-tuned model: right = better on the domain than its
base, down = worse on general skills. A model in the lower right bought its domain gain with
forgetting; the colour is the training size, so "more data, more forgetting" shows at a glance.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ftbench.report.plots import save_figure


def tradeoff(trade: pd.DataFrame | None, path: Path) -> Path | None:
    if trade is None or trade.empty:
        return None
    t = trade.dropna(subset=["general_change"])
    if t.empty:
        return None
    x = t["domain_gain"].fillna(0.0)
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    sizes = t["train_size"].astype(float)
    if sizes.notna().any() and sizes.nunique() > 1:
        points = ax.scatter(x, t["general_change"], c=sizes, cmap="viridis", s=70,
                            edgecolor="black", zorder=3)
        fig.colorbar(points, ax=ax, label="training size")
    else:
        ax.scatter(x, t["general_change"], s=70, color="tab:blue", edgecolor="black", zorder=3)
    for xi, yi, name in zip(x, t["general_change"], t["model"]):
        ax.annotate(str(name), (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.axvline(0, color="gray", linewidth=0.8)
    ax.margins(0.2)  # room for the model names
    metric = str(t["domain_metric"].iloc[0])
    note = "" if t["domain_gain"].notna().all() else " (missing domain score drawn at 0)"
    ax.set_xlabel(f"domain gain: {metric} fine-tuned - base{note}; point estimates (CIs per "
                  "benchmark in forgetting.csv)", fontsize=8)
    ax.set_ylabel("general change: mean headline metric change vs base")
    ax.set_title(f"Domain gain vs general-skill change ({len(t)} fine-tuned models)")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def change_vs_train_size(sizes: pd.DataFrame | None, path: Path) -> Path | None:
    if sizes is None or sizes.empty:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for (base, bench, metric, filt), grp in sizes.groupby(["base", "benchmark", "metric",
                                                           "filter"]):
        label = f"{base}: {bench} {metric}" + ("" if filt == "none" else f" [{filt}]")
        grp = grp.sort_values("train_size")
        ax.plot(grp["train_size"], grp["mean_change"], marker="o", label=label)
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.set_xlabel("training size (examples); mean over the models of each size, no interval")
    ax.set_ylabel("change vs base (headline metric)")
    ax.set_title(f"General-skill change by training size ({int(sizes['n_models'].sum())} "
                 "model x benchmark points)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
