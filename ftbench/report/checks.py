"""Checks on the input numbers before anything is ranked: ranges, the overall score, answer health.

A wrong number is worse than a missing one. A cell outside its metric's range (93.5 where a
fraction belongs, `inf`, a perplexity below 1) is refused — treated as missing, with a note
naming the file, row and column. The published overall score is recomputed from its seven
components wherever they are all present, so a table whose given score disagrees (another
weighting, a typo) is noted and ranked on the recomputed value. And a model whose answers are
mostly unparseable, or mostly cut at the generation budget, gets a note per task: its scores
there measure the answer format or the budget, not the skill.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ftbench.eval.results_files import readable_results
from ftbench.metrics import weighted_score
from ftbench.report.vocab import OVERALL

OVERALL_TOLERANCE = 2e-4  # a 4-decimal table rounds each value by up to 5e-5
UNPARSEABLE_FLAG = 0.9
BUDGET_FLAG = 0.5
_UNBOUNDED = {"perplexity": 1.0, "word_perplexity": 1.0, "byte_perplexity": 1.0,
              "avg_loss": 0.0, "bits_per_byte": 0.0, "train_size": 0.0, "params_b": 0.0}
_NON_NEGATIVE_SUFFIXES = ("_pred_words", "_length_ratio", "_pred_tags")


def metric_range(column: str) -> tuple[float, float, bool]:
    """(low, high, is_fraction) of a column's valid values; bounds inclusive, inf excluded.
    A suite's prefixed column (`answer_word_perplexity`) has its metric's range."""
    bare = next((m for m in _UNBOUNDED if column == m or column.endswith(f"_{m}")), None)
    if bare is not None:
        return _UNBOUNDED[bare], math.inf, False
    if column == "loglikelihood" or column.endswith("_loglikelihood"):  # a log-probability
        return -math.inf, 0.0, False
    if column.endswith(_NON_NEGATIVE_SUFFIXES):
        return 0.0, math.inf, False
    if "bertscore" in column:  # cosine-based: [-1, 1] in principle, [0, 1] in practice
        return -1.0, 1.0, True
    return 0.0, 1.0, True  # ROUGE, tag overlaps, accuracies, rates, the overall score


def out_of_range(column: str, value: float) -> str | None:
    """Why `value` cannot be a `column` value, or None when it can (NaN = missing, fine)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if math.isinf(value):
        return "is infinite"
    low, high, fraction = metric_range(column)
    if low <= value <= high:
        return None
    if fraction and 1 < value <= 100:
        return f"is outside [{low:g}, {high:g}] (a percentage where a fraction belongs?)"
    return f"is outside [{low:g}, {high:g}]"


def refuse_out_of_range(frame: pd.DataFrame, columns, where: str, notes: list[str], *,
                        first_line: int | None = None) -> None:
    """Set every out-of-range cell of `columns` to NaN, with one note per cell naming it.

    `first_line` is the file line of the frame's first row (a CSV: 2, after the header)."""
    for col in columns:
        if col not in frame:
            continue
        for pos, (idx, value) in enumerate(frame[col].items()):
            why = None if pd.isna(value) else out_of_range(col, float(value))
            if why is None:
                continue
            line = f"line {first_line + pos}, " if first_line is not None else ""
            notes.append(f"{where}: {line}model {frame.at[idx, 'model']}, column {col} = "
                         f"{value!r} {why}; refused (treated as missing)")
            frame.at[idx, col] = math.nan


def reconcile_overall(table: pd.DataFrame, notes: list[str],
                      composite: dict[str, float]) -> None:
    """Fill or check the overall score of every row from the suite's `composite` (in place).

    All components present: the weighted sum is used; a given value that differs by more than
    OVERALL_TOLERANCE is noted. Components missing: the given value stays (one note per set of
    missing components when there is none; none when the table has no component at all, or
    its suite declares no composite).
    """
    given = table[OVERALL] if OVERALL in table else pd.Series(math.nan, index=table.index)
    values, gaps, disagree = [], {}, []
    for (_, row), have in zip(table.iterrows(), given):
        missing = tuple(c for c in composite if c not in row or pd.isna(row[c]))
        if missing:
            values.append(have)
            if pd.isna(have):
                gaps.setdefault(missing, []).append(row["model"])
            continue
        if not composite:
            values.append(have)
            continue
        computed = weighted_score(composite, {c: row[c] for c in composite})
        if pd.notna(have) and abs(have - computed) > OVERALL_TOLERANCE:
            disagree.append(f"{row['model']} (given {have:.4f}, components give {computed:.4f})")
        values.append(computed)
    table[OVERALL] = values
    if disagree:
        notes.append(f"{OVERALL} disagrees with its weighted components for "
                     f"{', '.join(disagree)}; the recomputed value is used")
    if not any(c in table for c in composite) and given.isna().all():
        return  # another suite's results (no composite at all): nothing was left out
    for missing, models in gaps.items():  # one note per reason, not one per model
        notes.append(f"model {', '.join(models)}: overall score not computed, missing "
                     f"{', '.join(missing)}")


def ftbench_info(model_dir: Path, key: str) -> dict[str, dict]:
    """task -> ftbench.<key>[task] of the model's results files (latest file wins); `key` is
    `generation` (budget, budget hits) or `prompts` (context, truncated prompts)."""
    out: dict[str, dict] = {}
    for _, data in readable_results(Path(model_dir)):
        block = data.get("ftbench") or {}
        per_task = block.get(key) if isinstance(block, dict) else None
        if isinstance(per_task, dict):
            out.update({t: g for t, g in per_task.items() if isinstance(g, dict)})
    return out


def answer_rates(model: str, metrics: dict[str, dict], generation: dict[str, dict],
                 prompts: dict[str, dict]) -> list[dict]:
    """Per generative task of one model: format failures, budget hits and truncated prompts —
    the three ways a score can measure something other than the task."""
    rows = []
    for task in sorted(set(generation) | {t for t, v in metrics.items() if "unparseable" in v}):
        gen, prm = generation.get(task, {}), prompts.get(task, {})
        rate = metrics.get(task, {}).get("unparseable")
        rows.append({"model": model, "task": task, "n": gen.get("n", prm.get("n")),
                     "unparseable": float(rate) if isinstance(rate, (int, float)) else None,
                     "budget_hit_rate": gen.get("budget_hit_rate"),
                     "max_gen_toks": gen.get("max_gen_toks"),
                     "prompts_truncated": prm.get("truncated"),
                     "truncated_rate": prm.get("truncated_rate"),
                     "turns_dropped_rows": prm.get("turns_dropped_rows"),
                     "turns_dropped": prm.get("turns_dropped"),
                     "context_length": prm.get("context_length")})
    return rows


def answer_flags(model: str, metrics: dict[str, dict], generation: dict[str, dict]) -> list[dict]:
    """Per task: >= 90% unparseable answers, >= 50% of answers at the generation budget.

    `metrics` is task -> {metric: value} (lm-eval's `unparseable` rate), `generation` is
    task -> ftbench.generation[task] (`budget_hit_rate`, `max_gen_toks`, `n`); either may lack
    the keys (older results), which is simply no flag.
    """
    flags = []
    for task, values in sorted(metrics.items()):
        rate = values.get("unparseable")
        if isinstance(rate, (int, float)) and rate >= UNPARSEABLE_FLAG:
            flags.append({"model": model, "task": task, "problem": "unparseable",
                          "rate": float(rate)})
    for task, info in sorted(generation.items()):
        rate = info.get("budget_hit_rate")
        if isinstance(rate, (int, float)) and rate >= BUDGET_FLAG:
            flags.append({"model": model, "task": task, "problem": "budget", "rate": float(rate),
                          "max_gen_toks": info.get("max_gen_toks"), "n": info.get("n")})
    return flags


def flag_note(flag: dict) -> str:
    """One line per flag for 'Notes on the input'."""
    pct = f"{100 * flag['rate']:.0f}%"
    if flag["problem"] == "unparseable":
        return (f"model {flag['model']}: {flag['task']} — {pct} of answers unparseable "
                f"(>= {100 * UNPARSEABLE_FLAG:.0f}%): its scores there measure the answer "
                "format, not the task")
    budget = f" (max_gen_toks {flag['max_gen_toks']})" if flag.get("max_gen_toks") else ""
    return (f"model {flag['model']}: {flag['task']} — {pct} of answers stopped at the generation "
            f"budget{budget} (>= {100 * BUDGET_FLAG:.0f}%): they were cut, not finished")
