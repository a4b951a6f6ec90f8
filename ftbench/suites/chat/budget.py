"""The chat answer task's generation budget, read from its data: the longest reference × a margin.

A fixed budget is wrong both ways for free answers: too short cuts answers mid-sentence (scored
on their first part), too long lets a rambling model run for minutes on a CPU. The references
say how long an answer should be, in the evaluated model's own tokens: the budget is the longest
reference's token count × `MARGIN`, at least `FLOOR` and at most `CAP` tokens. It is computed
over the whole test set (not only the `--limit` rows), so it does not change with the limit.
`eval.max_gen_toks` / `--max-gen-toks` still overrides it; results record how it was chosen.
"""

from __future__ import annotations

import math

from ftbench.suites.chat.resources import METADATA_KEY
from ftbench.suites.chat.rows import test_rows
from ftbench.suites.fit_context import n_tokens

TASK = "chat_answer"
MARGIN = 1.5  # room for an answer a little longer than the longest reference
FLOOR = 16    # short references ("Ottawa.") still leave room for a sentence
CAP = 1024    # a long-form reference does not let every answer run for minutes


def answer_budget(task: str, metadata: dict, tokenizer) -> dict | None:
    """`Suite.answer_budget` for chat_answer (None for other tasks: their YAML's budget)."""
    if task != TASK:
        return None
    rows = test_rows("answer", metadata.get(METADATA_KEY))
    longest = max(n_tokens(tokenizer, r["target"]) for r in rows)
    return {"max_gen_toks": min(CAP, max(FLOOR, math.ceil(longest * MARGIN))),
            "from": "data", "longest_reference_tokens": longest, "references": len(rows),
            "margin": MARGIN, "floor": FLOOR, "cap": CAP}
