"""Synthetic studies whose true answers are known, for the report's findings and resolution tests.

`item_study` builds per-item scores the way a study's sample logs give them (the same test
articles for every model, so paired tests pair), from a per-model quality and a shared item
difficulty: two models with the same quality are tied by construction, a model 0.15 lower is
significantly worse. `scaling_table` is a flat table that follows a saturating curve exactly.
Import with `from report_synthetic import ...` (tests/report is on sys.path).
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ftbench.report import checks
from ftbench.report.domain import Domain
from ftbench.report.loading import ReportData
from ftbench.report.section import Context, Options
from ftbench.suites.bmw.composite import OVERALL_WEIGHTS

N_ITEMS = 60
GOLD = ["Press Release"] * 56 + ["Press Kit"] * 2 + ["Fact & Figures", "Speech"]  # majority 56/60
COMPONENT_TASKS = {"bmw_summarization": ("summ_rougeL_f1", "summ_bertscore_f1"),
                   "bmw_title": ("title_rougeL_f1", "title_bertscore_f1"),
                   "bmw_tags": ("tag_jaccard", "tag_f1")}


def _type_preds(mode: str, rng: np.random.Generator) -> list[str | None]:
    if mode == "none":  # every answer unparseable
        return [None] * N_ITEMS
    if mode == "collapse-half":  # "Press Release" to every other prompt, nothing parseable else
        return ["Press Release" if i % 2 == 0 else None for i in range(N_ITEMS)]
    right = rng.random(N_ITEMS) < 0.97
    return [g if ok else "Speech" for g, ok in zip(GOLD, right)]


def item_study(models: dict[str, dict], *, seed: int = 0) -> ReportData:
    """models: name -> {quality, type ('good' | 'none' | 'collapse-half'), family, params_b,
    train_size}. Component scores per item = quality + item difficulty + small noise."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(-0.15, 0.15, N_ITEMS)
    rows, samples = [], {}
    for name, spec in models.items():
        mine = np.random.default_rng([seed, zlib.crc32(name.encode())])
        tasks, row = {}, {"model": name}
        for task, cols in COMPONENT_TASKS.items():
            frame = _frame(task)
            for col in cols:
                frame[col] = np.clip(spec["quality"] + difficulty
                                     + mine.normal(0, 0.04, N_ITEMS), 0, 1)
                row[col] = float(frame[col].mean())
            tasks[task] = frame
        frame = _frame("bmw_type")
        frame["gold_label"] = GOLD
        frame["pred_label"] = _type_preds(spec.get("type", "good"), mine)
        frame["type_accuracy"] = [float(g == p) for g, p in zip(GOLD, frame["pred_label"])]
        tasks["bmw_type"] = frame
        row["type_accuracy"] = float(frame["type_accuracy"].mean())
        row.update({k: spec.get(k, math.nan) for k in ("family", "params_b", "train_size")})
        row["base_model"] = spec.get("base_model", name)
        rows.append(row)
        samples[name] = tasks
    table = pd.DataFrame(rows)
    notes: list[str] = []
    domain = Domain("bmw", dict(OVERALL_WEIGHTS), "article", "bmw_data")
    checks.reconcile_overall(table, notes, domain.composite)
    return ReportData(source=Path("synthetic-study"), kind="study", table=table, samples=samples,
                      notes=notes, model_dirs={m: Path("/nonexistent") / m for m in models},
                      domain=domain)


def _frame(task: str) -> pd.DataFrame:
    ids = list(range(N_ITEMS))
    return pd.DataFrame({"doc_id": ids, "article_id": [f"a{i}" for i in ids],
                         "prompt": [f"{task} prompt {i}" for i in ids],
                         "target": [f"reference {i}" for i in ids],
                         "pred": [f"answer {i}" for i in ids]})


def context(data: ReportData, **options) -> Context:
    return Context(data=data, options=Options(n_boot=400, **options), score="overall_score")


# --- a flat table that follows a saturating curve exactly ---------------------------------------

PLATEAU, SPAN, SCALE = 0.70, 0.30, 800.0  # score = PLATEAU + offset - SPAN * exp(-n / SCALE)
SIZES = (250, 500, 1000, 2000, 4000)
OFFSETS = {"alpha-3b": 0.023, "alpha-1b": 0.020, "beta-3b": 0.003, "beta-1b": 0.0}
TYPE_ITEMS = 50


def scaling_table(path: Path) -> pd.DataFrame:
    """Write and return a flat table: two families, two sizes each, five training sizes.

    Alpha is 0.02 above Beta at every size; the 3b models 0.003 above their 1b sibling (less
    than one type item, 0.2 / 50 = 0.004, of the overall score). type_accuracy is a whole
    count out of TYPE_ITEMS, so the item count can be inferred.
    """
    rows = []
    for base, offset in OFFSETS.items():
        family = base.split("-")[0].capitalize()
        for k, n in enumerate(SIZES):
            score = PLATEAU + offset - SPAN * math.exp(-n / SCALE)
            rows.append({"model_name": f"{base}-{n}", "family": family, "train_size": n,
                         "overall_score": score, "summ_rougeL_f1": 0.40 + offset,
                         "type_accuracy": (40 + k + (offset > 0.01)) / TYPE_ITEMS})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def mean_offset() -> float:
    return float(np.mean(list(OFFSETS.values())))
