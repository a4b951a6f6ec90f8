"""Report section: did the scores measure the task, or the answer's format, length or prompt?

Per model and generative task, from what the runner recorded in each results file: the share of
answers the task's parser could not read (`unparseable`), the share that used the whole
generation budget (`ftbench.generation`: cut, not finished) and the prompts that did not fit the
model's context and were cut inside the article (`ftbench.prompts`). A flat table has none of
this; the section then says so.
"""

from __future__ import annotations

import pandas as pd

from ftbench.report.section import Context, Section

COLUMNS = ("model", "task", "n", "unparseable", "budget_hit_rate", "max_gen_toks",
           "prompts_truncated", "truncated_rate", "turns_dropped_rows", "turns_dropped",
           "context_length")


def answers_section(ctx: Context) -> Section:
    sec = Section("answer_format", "4c. Answer format, generation budgets and prompt truncation")
    rows = ctx.data.answer_rates
    if not rows:
        return sec.skip("needs a study's results files (ftbench.generation / ftbench.prompts); "
                        "a flat table has none")
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    turns = pd.to_numeric(table["turns_dropped_rows"], errors="coerce")
    if turns.isna().all():  # no results file fitted conversations (single-turn suites): the
        table = table.drop(columns=["turns_dropped_rows", "turns_dropped"])  # columns say nothing
    sec.tables["answer_format"] = table
    for column, what in (("unparseable", "answers the task's parser could not read"),
                         ("budget_hit_rate", "answers stopped at the generation budget"),
                         ("truncated_rate", "prompts cut inside the article to fit the context")):
        values = pd.to_numeric(table[column], errors="coerce")
        worst = table.loc[values.idxmax()] if values.notna().any() else None
        if worst is None:
            sec.text.append(f"{what}: not recorded.")
        elif values.max() == 0:
            sec.text.append(f"{what}: none (every model and task).")
        else:
            sec.text.append(f"{what}: up to {values.max():.0%} ({worst['model']}, "
                            f"{worst['task']}); {int((values > 0).sum())} of {len(table)} "
                            "model-task pairs have some.")
    turns = turns.fillna(0)
    if turns.any():  # conversations fitted by dropping their oldest earlier turns
        worst = table.loc[turns.idxmax()]
        sec.text.append(f"conversations that lost their oldest earlier turns to fit the context: "
                        f"up to {int(turns.max())} of {worst['n']} ({worst['model']}, "
                        f"{worst['task']}; {int(worst['turns_dropped'])} turns dropped).")
    return sec
