"""The GLUE-small sections of a study's report: every (model, task, mode) beside the others.

An experiment is one (model, task, mode): a base decoder prompted zero- or few-shot, a decoder
with the LoRA adapter trained on that task, or an encoder fine-tuned on it. Its numbers are
recomputed here from the per-example records — lm-eval's per-sample log for decoders,
`predictions.jsonl` for encoders — so every figure in the table can be traced to the (text,
gold, predicted) rows in its errors file. Accuracy stands beside what needs no model at all: the
majority-class and chance accuracy of the same gold labels, balanced accuracy, a binomial test
against the majority rate, and a flag for predictions that collapse onto one class
(`ftbench.report.baselines.class_scores`). Costs come from what the study recorded: training
time and peak memory from the run manifests, latency and peak memory per task from the results
index (the wall time of the task over its examples; encoders: `Trainer.predict`).

Which study model, part and variant each evaluated model is comes from the results index
(`settings.study`, written by the study); the report works from the results directory alone,
so `ftbench report RESULTS` redoes these sections too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ftbench.core.io import InputError, atomic_write_json, atomic_write_text, read_json, read_jsonl
from ftbench.eval.results_files import samples_file
from ftbench.metrics.label_scores import label_scores
from ftbench.report import plots, stats
from ftbench.report.baselines import class_scores
from ftbench.report.section import Context, Section
from ftbench.suites.glue.data import glue_task
from ftbench.suites.glue.options import TASKS, task_part

COLUMNS = ["experiment", "model", "kind", "task", "mode", "n", "acc", "acc_ci_lo", "acc_ci_hi",
           "majority_acc", "chance_acc", "p_vs_majority", "vs_majority", "balanced_acc",
           "macro_f1", "mcc", "unparseable", "collapsed", "train_s", "latency_ms_per_example",
           "peak_rss_mb"]
SHARED_KEY = "glue_experiments"  # ctx.shared.suite: the experiments the section was made from


@dataclass
class Experiment:
    """One cell of the matrix with its per-example records and its costs."""

    model: str
    kind: str  # decoder | encoder
    task: str  # task key (sst2, rte, mnli, mnli_mismatched)
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


def experiment_row(exp: Experiment) -> tuple[dict, dict]:
    """The table row of one experiment, and what its metrics.json adds (counts, confusion)."""
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
    extra = {"majority_class": base.get("majority_class"), "counts": s["counts"],
             "confusion": s["confusion"], "sources": exp.sources}
    return row, extra


def write_experiment(exp: Experiment, out: Path) -> dict:
    """metrics.json, confusion.png and errors.csv of one experiment; returns its table row."""
    out.mkdir(parents=True, exist_ok=True)
    row, extra = experiment_row(exp)
    atomic_write_json(out / "metrics.json", {**row, **extra})
    plots.confusion(extra["confusion"], f"{exp.model} · {exp.task} · {exp.mode} (n={row['n']})",
                    out / "confusion.png")
    errors = pd.DataFrame([{"idx": r.get("idx"), "text": r["text"], "gold": r["gold"],
                            "predicted": r["pred"] if r["pred"] is not None else "unparseable"}
                           for r in exp.records if r["gold"] != r["pred"]],
                          columns=["idx", "text", "gold", "predicted"])
    atomic_write_text(out / "errors.csv", errors.to_csv(index=False))
    return row


# --- the experiments of a study's results --------------------------------------------------

def study_record(results: Path) -> dict:
    """`settings.study` of a results index: variants and what each evaluated name is."""
    path = Path(results) / "index.json"
    if not path.is_file():
        return {}
    return (read_json(path).get("settings") or {}).get("study") or {}


def _index_models(results: Path) -> dict:
    path = Path(results) / "index.json"
    return read_json(path).get("models") or {} if path.is_file() else {}


def _mode(variants: list[dict], model_set: str, task: str) -> str | None:
    return next((v["name"] for v in variants if v["models"] == model_set and task in v["tasks"]),
                None)


def _run_costs(run) -> dict:
    manifest = run.manifest if run is not None else {}
    return {"train_s": (manifest.get("timing") or {}).get("train_s"),
            "peak_rss_mb": (manifest.get("memory") or {}).get("peak_rss_mb"),
            "run_dir": str(run.path)} if run is not None else {}


def decoder_experiments(results: Path, record: dict, runs: list) -> list[Experiment]:
    """One experiment per (evaluated model, glue_small task) the study's variants name."""
    variants = record.get("variants") or []
    by_run = {r.name: r for r in runs}
    exps = []
    for name, entry in _index_models(results).items():
        what = (record.get("models") or {}).get(name)
        if not what or what.get("kind") != "lm":
            continue
        for task, info in (entry.get("tasks") or {}).items():
            part, mode = task_part(task), _mode(variants, what["set"], task)
            path = samples_file(Path(results) / str(entry.get("dir") or name), task)
            if part is None or mode is None or info.get("status") != "complete" or path is None:
                continue
            records = records_from_samples(path, TASKS[part][0])
            train = _run_costs(by_run.get(name)) if what["set"] == "finetuned" else {}
            seconds = info.get("seconds")
            peaks = [p for p in (info.get("peak_rss_mb"), train.get("peak_rss_mb")) if p]
            exps.append(Experiment(
                model=what["model"], kind="decoder", task=part, glue=TASKS[part][0], mode=mode,
                records=records, train_s=train.get("train_s"),
                latency_ms_per_example=round(1000 * seconds / len(records), 3)
                if seconds and records else None,
                peak_rss_mb=max(peaks) if peaks else None,
                sources={"samples": str(path), "lm_eval_task": task, "evaluated_as": name,
                         **({"run_dir": train["run_dir"]} if train else {})}))
    return exps


def encoder_experiments(results: Path, record: dict) -> list[Experiment]:
    """One experiment per encoder run the study recorded (`kind: encoder`)."""
    exps = []
    for what in (record.get("models") or {}).values():
        if what.get("kind") != "encoder":
            continue
        run_dir = Path(results) / what["dir"]
        if not (run_dir / "predictions.jsonl").is_file():
            continue
        manifest = read_json(run_dir / "manifest.json")
        part = what["part"]
        exps.append(Experiment(
            model=what["model"], kind="encoder", task=part, glue=TASKS[part][0], mode="encoder",
            records=read_jsonl(run_dir / "predictions.jsonl"),
            train_s=manifest["timing"]["train_s"],
            latency_ms_per_example=manifest["timing"]["latency_ms_per_example"],
            peak_rss_mb=manifest["memory"]["peak_rss_mb"], sources={"run_dir": str(run_dir)}))
    return exps


def order(exps: list[Experiment]) -> list[Experiment]:
    """Task-major, then decoders before encoders, in mode order: a stable reading order."""
    modes = ["zero_shot", "few_shot", "lora", "encoder"]
    tasks = list(TASKS)
    return sorted(exps, key=lambda e: (tasks.index(e.task), e.kind != "decoder", e.model,
                                       modes.index(e.mode) if e.mode in modes else len(modes),
                                       e.mode))


# --- tables --------------------------------------------------------------------------------

def _paired_vs_best_encoder(table: pd.DataFrame, experiments: dict[str, Experiment]) -> list[dict]:
    """Per task: the best decoder experiment against the best encoder, McNemar on the same items."""
    out = []
    for task, grp in table.groupby("task", sort=False):
        enc = grp[grp["kind"] == "encoder"].sort_values("acc", ascending=False, kind="stable")
        dec = grp[grp["kind"] == "decoder"].sort_values("acc", ascending=False, kind="stable")
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


def comparison(experiments: list[Experiment]) -> dict[str, pd.DataFrame]:
    """The matrix's tables: one row per experiment, accuracy by mode, the best experiment per
    task, and the best decoder against the best encoder per task."""
    table = pd.DataFrame([experiment_row(e)[0] for e in experiments], columns=COLUMNS)
    by_mode = pd.DataFrame([{"mode": m, **stats.describe(g["acc"])}
                            for m, g in table.groupby("mode", sort=False)])
    best = table.loc[table.groupby("task", sort=False)["acc"].idxmax(),
                     ["task", "experiment", "acc", "mcc"]] \
        if table["acc"].notna().any() else table.iloc[0:0][["task", "experiment", "acc", "mcc"]]
    paired = pd.DataFrame(_paired_vs_best_encoder(table, {e.name: e for e in experiments}),
                          columns=["task", "encoder", "decoder", "n_paired", "encoder_only_right",
                                   "decoder_only_right", "p", "test"])
    return {"glue_comparison": table, "glue_by_mode": by_mode,
            "glue_best_per_task": best.reset_index(drop=True), "glue_decoder_vs_encoder": paired}


def report_sections(ctx: Context) -> list[Section]:
    """The study report's GLUE-small section (`Suite.study.report_sections`)."""
    sec = Section("glue_matrix", "GLUE-small experiment matrix")
    if ctx.data.kind != "study":
        return [sec.skip("a flat table has no per-example records")]
    try:
        record = study_record(ctx.data.source)
        exps = order(decoder_experiments(ctx.data.source, record, ctx.data.runs)
                     + encoder_experiments(ctx.data.source, record))
    except (InputError, KeyError) as exc:
        return [sec.skip(f"the study's GLUE records are unreadable ({exc})")]
    if not exps:
        return [sec.skip("no GLUE-small experiment in these results (a study with "
                         "suite_options.tasks records its variants and models)")]
    ctx.shared.suite[SHARED_KEY] = exps
    sec.tables = comparison(exps)
    table = sec.tables["glue_comparison"]
    sec.text = [f"{len(table)} experiments (model × task × mode); accuracy with a 95% Wilson CI, "
                "beside the majority-class and chance (uniform guess) accuracy of the same gold "
                "labels, balanced accuracy and a two-sided binomial test against the majority "
                "rate (`vs_majority`). Per-experiment files: `experiments/<model>__<task>__<mode>/`."]
    note = collapsed_note(table)
    if note:
        sec.text.append(note)
    return [sec]


def collapsed_note(table: pd.DataFrame) -> str | None:
    """The experiments whose every parsed answer names one class, said once."""
    collapsed = table[table["collapsed"].eq(True)]
    if collapsed.empty:
        return None
    return "**Collapsed** (every parsed answer names one class): " + ", ".join(
        collapsed["experiment"])


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


def report_files(ctx: Context, sections: list[Section], out: Path) -> dict[str, Path]:
    """Per-experiment folders and the accuracy / latency plots (`Suite.study.report_files`);
    returns every file written (the plots also named in the section)."""
    exps: list[Experiment] = ctx.shared.suite.get(SHARED_KEY) or []
    sec = next((s for s in sections if s.key == "glue_matrix"), None)
    if not exps or sec is None:
        return {}
    files: dict[str, Path] = {}
    for e in exps:
        folder = out / "experiments" / e.name
        write_experiment(e, folder)
        files.update({f"experiments/{e.name}/{f}": folder / f
                      for f in ("metrics.json", "confusion.png", "errors.csv")})
    table = sec.tables["glue_comparison"]
    ns = sorted(set(table["n"].dropna().astype(int)))
    n_items = "" if not ns else f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"
    for stem, column, xlabel, log in (
            ("accuracy", "acc", f"accuracy (whiskers: 95% Wilson CI over {n_items} items; "
             "|: majority-class baseline)", False),
            ("latency", "latency_ms_per_example", "inference latency per example (ms, log scale)",
             True)):
        path = _bar_plot(table, column, xlabel, f"GLUE-small {stem}",
                         out / "plots" / f"glue_{stem}.png", log)
        if path:
            files[f"glue_{stem}"] = path
            sec.plots[f"glue_{stem}"] = str(path.relative_to(out))
    return files
