"""Per-experiment files and the comparison across experiments of a GLUE matrix.

An experiment is one (model, task, mode). Its numbers are recomputed here from the per-example
records — lm-eval's per-sample log for decoders, `predictions.jsonl` for encoders — so every
figure in the table can be traced to the (text, gold, predicted) rows in its errors file.
Accuracy stands beside what needs no model at all: the majority-class and chance accuracy of
the same gold labels, balanced accuracy, a binomial test against the majority rate, and a flag
for predictions that collapse onto one class (`ftbench.report.baselines.class_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ftbench.core.io import atomic_write_json, atomic_write_text, read_jsonl
from ftbench.metrics.label_scores import label_scores
from ftbench.report import plots, stats
from ftbench.report.baselines import class_scores
from ftbench.report.markdown import md_table
from ftbench.suites.glue.data import glue_task

COLUMNS = ["experiment", "model", "kind", "task", "mode", "n", "acc", "acc_ci_lo", "acc_ci_hi",
           "majority_acc", "chance_acc", "p_vs_majority", "vs_majority", "balanced_acc",
           "macro_f1", "mcc", "unparseable", "collapsed", "train_s", "latency_ms_per_example",
           "peak_rss_mb"]


@dataclass
class Experiment:
    """One cell of the matrix with its per-example records and its costs."""

    model: str
    kind: str  # decoder | encoder
    task: str  # matrix task key (sst2, rte, mnli, mnli_mismatched)
    glue: str  # GLUE task name (labels)
    mode: str
    records: list[dict]  # {idx, text, gold, pred}
    train_s: float | None = None
    latency_ms_per_example: float | None = None
    peak_rss_mb: float | None = None
    sources: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.model}__{self.task}__{self.mode}"

    def scores(self) -> dict:
        labels = glue_task(self.glue).labels
        return label_scores([r["gold"] for r in self.records], [r["pred"] for r in self.records],
                            labels)


def records_from_samples(path: Path, glue: str) -> list[dict]:
    """(idx, text, gold, pred) of each doc in an lm-eval samples file of a glue_small task."""
    task = glue_task(glue)
    return [{"idx": s["doc"].get("idx"), "text": task.text(s["doc"]), "gold": s["mcc"]["gold"],
             "pred": s["mcc"]["pred"]} for s in read_jsonl(path)]


def write_experiment(exp: Experiment, out: Path) -> dict:
    """metrics.json, confusion.png and errors.csv of one experiment; returns its table row."""
    out.mkdir(parents=True, exist_ok=True)
    s = exp.scores()
    base = class_scores([r["gold"] for r in exp.records], [r["pred"] for r in exp.records],
                        glue_task(exp.glue).labels) if exp.records else {}
    row = {"experiment": exp.name, "model": exp.model, "kind": exp.kind, "task": exp.task,
           "mode": exp.mode, "n": s["n"], "acc": s["acc"], "acc_ci_lo": base.get("acc_lo"),
           "acc_ci_hi": base.get("acc_hi"), "majority_acc": base.get("majority_acc"),
           "chance_acc": base.get("chance_acc"), "p_vs_majority": base.get("p_vs_majority"),
           "vs_majority": base.get("vs_majority"), "balanced_acc": base.get("balanced_acc"),
           "macro_f1": s["macro_f1"], "mcc": s["mcc"], "unparseable": s["unparseable"],
           "collapsed": base.get("collapsed"), "train_s": exp.train_s,
           "latency_ms_per_example": exp.latency_ms_per_example, "peak_rss_mb": exp.peak_rss_mb}
    atomic_write_json(out / "metrics.json", {**row, "majority_class": base.get("majority_class"),
                                             "counts": s["counts"], "confusion": s["confusion"],
                                             "sources": exp.sources})
    plots.confusion(s["confusion"], f"{exp.model} · {exp.task} · {exp.mode} (n={s['n']})",
                    out / "confusion.png")
    errors = pd.DataFrame([{"idx": r.get("idx"), "text": r["text"], "gold": r["gold"],
                            "predicted": r["pred"] if r["pred"] is not None else "unparseable"}
                           for r in exp.records if r["gold"] != r["pred"]],
                          columns=["idx", "text", "gold", "predicted"])
    atomic_write_text(out / "errors.csv", errors.to_csv(index=False))
    return row


def _bar_plot(table: pd.DataFrame, column: str, xlabel: str, title: str, path: Path,
              log: bool = False) -> Path | None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    t = table.dropna(subset=[column]).sort_values(["task", column], ascending=[True, False])
    if t.empty:
        return None
    labels = [f"{r.task} · {r.model} · {r.mode}" for r in t.itertuples()]
    colors = {m: plt.cm.tab10(i) for i, m in enumerate(sorted(t["mode"].unique()))}
    fig, ax = plt.subplots(figsize=(9, 1 + 0.32 * len(t)))
    err = None
    if column == "acc":
        err = [(t["acc"] - t["acc_ci_lo"]).clip(lower=0), (t["acc_ci_hi"] - t["acc"]).clip(lower=0)]
    ax.barh(labels, t[column], xerr=err, capsize=2, color=[colors[m] for m in t["mode"]])
    handles = [Patch(color=c, label=m) for m, c in colors.items()]
    if column == "acc" and t["majority_acc"].notna().any():
        handles.append(ax.scatter(t["majority_acc"], labels, marker="|", s=260, color="black",
                                  zorder=3, label="majority-class baseline"))
    if log:
        ax.set_xscale("log")
    elif column == "acc":
        ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return plots.save_figure(fig, path)


def _paired_vs_best_encoder(table: pd.DataFrame, experiments: dict[str, Experiment]) -> list[dict]:
    """Per task: the best decoder experiment against the best encoder, McNemar on the same items."""
    out = []
    for task, grp in table.groupby("task"):
        enc = grp[grp["kind"] == "encoder"].sort_values("acc", ascending=False)
        dec = grp[grp["kind"] == "decoder"].sort_values("acc", ascending=False)
        if enc.empty or dec.empty:
            continue
        a, b = experiments[enc.iloc[0]["experiment"]], experiments[dec.iloc[0]["experiment"]]
        right_a = {r["idx"]: float(r["gold"] == r["pred"]) for r in a.records}
        right_b = {r["idx"]: float(r["gold"] == r["pred"]) for r in b.records}
        common = [i for i in right_a if i in right_b]
        test = stats.mcnemar([right_a[i] for i in common], [right_b[i] for i in common])
        out.append({"task": task, "encoder": a.name, "decoder": b.name, "n_paired": len(common),
                    "encoder_only_right": test["a_only"], "decoder_only_right": test["b_only"],
                    "p": test["p"], "test": test["method"]})
    return out


def write_comparison(experiments: list[Experiment], out: Path) -> dict[str, Path]:
    """experiments/<name>/…, comparison.csv/.md, accuracy.png, latency.png, summary.md."""
    rows = [write_experiment(e, out / "experiments" / e.name) for e in experiments]
    table = pd.DataFrame(rows, columns=COLUMNS)
    files = {"comparison_csv": atomic_write_text(out / "comparison.csv", table.to_csv(index=False))}
    files["comparison_md"] = atomic_write_text(out / "comparison.md", md_table(table) + "\n")
    ns = sorted(set(table["n"].dropna().astype(int)))
    n_items = "" if not ns else f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"
    for stem, column, xlabel, log in (
            ("accuracy", "acc", f"accuracy (whiskers: 95% Wilson CI over {n_items} items; "
             "|: majority-class baseline)", False),
            ("latency", "latency_ms_per_example", "inference latency per example (ms, log scale)",
             True)):
        path = _bar_plot(table, column, xlabel, f"GLUE-small {stem}", out / f"{stem}.png", log)
        if path:
            files[f"{stem}_png"] = path
    by_mode = pd.DataFrame([{"mode": m, **stats.describe(g["acc"])}
                            for m, g in table.groupby("mode")])
    best = table.loc[table.groupby("task")["acc"].idxmax(), ["task", "experiment", "acc", "mcc"]] \
        if table["acc"].notna().any() else table.iloc[0:0]
    paired = pd.DataFrame(_paired_vs_best_encoder(table, {e.name: e for e in experiments}))
    parts = ["# GLUE-small experiment matrix", "",
             f"{len(table)} experiments; accuracy with a 95% Wilson CI, beside the majority-class "
             "and chance (uniform guess) accuracy of the same gold labels, balanced accuracy and "
             "a two-sided binomial test against the majority rate (`vs_majority`).", ""]
    collapsed = table[table["collapsed"].eq(True)]
    if not collapsed.empty:
        parts += ["**Collapsed** (every parsed answer names one class): "
                  + ", ".join(collapsed["experiment"]), ""]
    parts += ["## Comparison", "", md_table(table), "",
              "## Accuracy by mode (summary statistics over models and tasks)", "",
              md_table(by_mode), "", "## Best experiment per task", "", md_table(best), ""]
    if not paired.empty:
        parts += ["## Best decoder vs best encoder (McNemar on the same items)", "",
                  md_table(paired), ""]
    parts += ["Plots: " + ", ".join(p.name for k, p in files.items() if k.endswith("_png")), ""]
    files["summary_md"] = atomic_write_text(out / "summary.md", "\n".join(parts))
    files["summary_json"] = atomic_write_json(out / "summary.json", {
        "by_mode": by_mode.to_dict("records"), "best_per_task": best.to_dict("records"),
        "decoder_vs_encoder": paired.to_dict("records")})
    return files
