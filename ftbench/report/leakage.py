"""Report section: how much of each task's answer was already in its prompt, beside its scores.

For the documents the models were actually scored on (the per-sample logs: input and reference
of each test row), the same audit `ftbench data prepare` writes into the data manifest: how many
inputs contain their reference verbatim or begin with it, and what copying the input's lead
scores (ROUGE against the reference). A summarization ROUGE-L of 0.55 means little when copying
the first 45 words of the prompt scores 0.58; this section puts the two side by side. The data
manifest, when the study index names it, adds whether the leading summary was stripped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ftbench.report.section import Context, Section
from ftbench.report.vocab import TASK_COLUMNS, task_name, tasks_of_kind
from ftbench.suites.leakage import leakage_audit


def _scores(task: str) -> tuple[str, ...]:
    """The ROUGE columns of a free-text task, ROUGE-L first."""
    cols = TASK_COLUMNS.get(task, {})
    return tuple(cols[k] for k in ("rougeL", "rouge1", "rouge2") if k in cols)


def data_manifest(results_dir: Path, data_key: str | None) -> tuple[Path | None, dict | None]:
    """The prepared data's manifest named by the study index (`settings.metadata.<data_key>`,
    the suite's metadata key)."""
    if not data_key:
        return None, None
    try:
        index = json.loads((results_dir / "index.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, None
    data_dir = ((index.get("settings") or {}).get("metadata") or {}).get(data_key)
    if not data_dir:
        return None, None
    path = Path(data_dir) / "manifest.json"
    try:
        return path, json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return path, None


def _share(count: int, n: int) -> float:
    return count / n if n else math.nan


def leakage_rows(leakage: dict, table: pd.DataFrame,
                 scores: dict[str, tuple[str, ...]]) -> list[dict]:
    rows = []
    for task, audit in leakage.items():
        n, copy = audit.get("n", 0), audit.get("copy_baseline") or {}
        row = {"task": task, "n": n,
               "reference_in_input": audit.get("reference_in_input"),
               "reference_in_input_share": _share(audit.get("reference_in_input", 0), n),
               "input_starts_with_reference": audit.get("input_starts_with_reference"),
               "starts_with_share": _share(audit.get("input_starts_with_reference", 0), n),
               "copy_rougeL": copy.get("rougeL", math.nan),
               "copy_rouge1": copy.get("rouge1", math.nan),
               "copy_rouge2": copy.get("rouge2", math.nan)}
        score = next((c for c in scores.get(task, ()) if c in table), None)
        scored = table.dropna(subset=[score]) if score else table.iloc[0:0]
        if not scored.empty:
            best = scored.loc[scored[score].idxmax()]
            row.update(best_model=best["model"], best_rougeL=float(best[score]),
                       models_below_copy=int((scored[score] < row["copy_rougeL"]).sum()),
                       models=len(scored))
        rows.append(row)
    return rows


def evaluated_rows(ctx: Context) -> list[dict]:
    """{task, input, target} of every scored document (from the first model that has the task)."""
    rows = []
    for lm_task in tasks_of_kind("text"):
        task = task_name(lm_task)
        frame = next((tasks[lm_task] for tasks in ctx.data.samples.values()
                      if lm_task in tasks and not tasks[lm_task].empty), None)
        if frame is not None:
            rows += [{"task": task, "input": str(p), "target": str(t)}
                     for p, t in zip(frame["prompt"], frame["target"])]
    return rows


def leakage(ctx: Context) -> Section:
    sec = Section("leakage", "Input leakage: references inside the prompts, copy baseline")
    if ctx.data.kind != "study":
        return sec.skip("a flat results table has no per-sample inputs")
    rows = evaluated_rows(ctx)
    if not rows:
        return sec.skip(f"no per-sample logs of {' or '.join(tasks_of_kind('text'))}")
    names = {task_name(t): _scores(t) for t in tasks_of_kind("text")}
    audit = {task: a for task, a in leakage_audit(rows, list(names)).items() if a["n"]}
    table = leakage_rows(audit, ctx.table, names)
    sec.tables["leakage"] = pd.DataFrame(table)
    path, manifest = data_manifest(Path(ctx.data.source), ctx.data.domain.data_key)
    if manifest is not None:
        stripped = manifest.get("strip_reference_from_input")
        sec.text.append(f"Data: `{path}`; leading summary stripped from the inputs: "
                        f"{'yes' if stripped else 'no (the published prompts)'}.")
    for r in table:
        line = (f"{r['task']}: the reference is verbatim in {r['reference_in_input']}/{r['n']} "
                f"scored inputs ({r['input_starts_with_reference']} begin with it); copying the "
                f"input's lead scores ROUGE-L {r['copy_rougeL']:.3f}")
        if "best_rougeL" in r:
            line += (f"; best model {r['best_model']} {r['best_rougeL']:.3f}, "
                     f"{r['models_below_copy']} of {r['models']} models below the copy baseline")
        sec.text.append(line + ".")
    return sec
