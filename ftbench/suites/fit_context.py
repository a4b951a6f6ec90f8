"""Fit every prompt into the model's context by cutting the article text, never the instructions.

lm-eval's own answer to a prompt that is too long is to drop tokens from the *left*: the system
prompt and the instruction go first, and only a log line says so. Here a suite's task loader cuts
the end of the row's `input` (the article text) instead, at a word boundary, until system prompt +
instruction + input + the task's answer budget fit, with a safety margin for what a chat template
or a BOS token may add. Each row records `input_tokens_removed` (0 when it fitted), so the counts
reach the per-sample logs and, through the runner, the results file.

A conversation (a row with earlier turns, `history`) first loses its oldest earlier turns, whole
user / assistant pairs, until it fits — the system message and the final user turn stay, as a
chat UI drops the start of a long conversation; `earlier_turns_dropped` records how many (on
every row of a suite whose rows carry `history`, 0 when nothing was dropped). One
whose final user turn alone does not fit is refused with its id.

The model comes from lm-eval's task metadata: `pretrained` (and `tokenizer`, `revision`,
`trust_remote_code`) are there under `lm_eval --model_args …` and `simple_evaluate`, and the
runner adds them for `ftbench eval`; `max_length` (hf) / `max_model_len` (vLLM) override the
context read from the model (`ftbench.core.context`). The task's prompt and budget come from its
own YAML (`config_source`, which lm-eval adds to every task's metadata).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ftbench.core.context import load_tokenizer, resolve_context

log = logging.getLogger(__name__)
REMOVED_KEY = "input_tokens_removed"
TURNS_KEY = "earlier_turns_dropped"  # user + assistant messages dropped from a conversation
PLAIN_SEPARATOR = "\n\n"  # lm-eval's fewshot_delimiter between description and question


def safety_margin(context: int) -> int:
    """Tokens kept free beyond prompt + budget: BOS, a --system_instruction, template variants."""
    return max(16, context // 100)


@dataclass(frozen=True)
class PromptShape:
    """What a task puts around a row's `input`, and how many tokens its answer may take."""

    system: Callable[[dict], str]
    user: Callable[[dict], str]
    budget: Callable[[object], int]  # tokenizer → answer tokens to keep free


def _field(value) -> Callable[[dict], str]:
    from ftbench.core.lm_eval_glue import apply_template

    if value is None:
        return lambda doc: ""
    if callable(value):
        return lambda doc: str(value(doc))
    return lambda doc: apply_template(str(value), doc)


def task_shape(config_source: str) -> PromptShape | None:
    """The prompt shape of a task YAML (includes merged); None for tasks with nothing to fit."""
    from ftbench.core.lm_eval_glue import load_task_yaml

    cfg = load_task_yaml(config_source)
    kind = cfg.get("output_type", "generate_until")
    if kind == "generate_until":
        gen_toks = int((cfg.get("generation_kwargs") or {}).get("max_gen_toks", 256))
        budget = lambda tok: gen_toks  # noqa: E731
    elif kind == "multiple_choice":
        choices, delim = cfg.get("doc_to_choice"), cfg.get("target_delimiter", " ")
        if not isinstance(choices, list):
            raise ValueError(f"{config_source}: fitting prompts needs doc_to_choice as a list")
        # the longest continuation, plus the one position vLLM keeps for generation
        budget = lambda tok: 1 + max(n_tokens(tok, delim + str(c)) for c in choices)  # noqa: E731
    else:  # loglikelihood_rolling is scored in windows; nothing is cut
        return None
    return PromptShape(_field(cfg.get("description")), _field(cfg.get("doc_to_text")), budget)


def n_tokens(tok, text: str, special: bool = False) -> int:
    """Token count; `verbose=False` silences the tokenizer's "longer than the model" notice."""
    return len(tok(text, add_special_tokens=special, verbose=False)["input_ids"])


def prompt_tokens(tok, system: str, user: str) -> int:
    """Tokens of the prompt as lm-eval renders it: the larger of the chat and plain forms."""
    counts = [n_tokens(tok, (system + PLAIN_SEPARATOR if system else "") + user, special=True)]
    if getattr(tok, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user}]
        try:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # a template without a system role: lm-eval fails there, not here
            text = None
        if isinstance(text, str):
            counts.append(n_tokens(tok, text))
    return max(counts)


def _size(doc: dict, shape: PromptShape, tok, candidate: str) -> int:
    """Prompt tokens of `doc` with `candidate` as its input; a conversation's earlier turns
    (`history`) are prompt too, counted with the system text."""
    history = [t["content"] for t in doc.get("history") or []]
    system = PLAIN_SEPARATOR.join(x for x in (shape.system(doc), *history) if x)
    return prompt_tokens(tok, system, shape.user({**doc, "input": candidate}))


def drop_turns(doc: dict, shape: PromptShape, tok, limit: int) -> tuple[dict, int]:
    """(the row less its oldest earlier turns — whole user / assistant pairs — until its prompt
    fits `limit`, the turns dropped). The system message and the final user turn stay: a row
    whose final turn alone does not fit is refused, naming it, never cut mid-conversation."""
    history = list(doc.get("history") or [])
    dropped = 0
    size = _size(doc, shape, tok, doc["input"])
    while history and size > limit:
        history, dropped = history[2:], dropped + 2
        size = _size({**doc, "history": history}, shape, tok, doc["input"])
    if dropped and size > limit:  # every earlier turn gone, and still too long
        raise ValueError(f"row {doc.get('id')}: its final user turn alone needs {size} tokens, "
                         f"more than the {limit} the context leaves, with every earlier turn "
                         "dropped; use a longer context or a smaller max_gen_toks")
    return ({**doc, "history": history} if dropped else doc), dropped


def fit_input(doc: dict, shape: PromptShape, tok, limit: int) -> tuple[str, int]:
    """(the longest word-boundary prefix of doc['input'] whose prompt fits `limit`, tokens cut)."""
    text = doc["input"]

    def size(candidate: str) -> int:
        return _size(doc, shape, tok, candidate)

    if size(text) <= limit:
        return text, 0
    if size("") > limit:
        raise ValueError(f"row {doc.get('id')}: the prompt without any article text needs "
                         f"{size('')} tokens, more than the {limit} the context leaves; "
                         "use a longer context or a smaller max_gen_toks")
    cuts = [m.start() for m in re.finditer(r"\s+", text)]  # keep text[:cut]
    lo, hi, best = 0, len(cuts) - 1, ""
    while lo <= hi:  # the largest cut that fits; size() grows with the cut
        mid = (lo + hi) // 2
        if size(text[:cuts[mid]]) <= limit:
            best, lo = text[:cuts[mid]], mid + 1
        else:
            hi = mid - 1
    return best, n_tokens(tok, text) - n_tokens(tok, best)


def model_from_metadata(metadata: dict) -> dict | None:
    """The model arguments the loader needs, or None when the metadata names no model."""
    pretrained = metadata.get("pretrained")
    if not isinstance(pretrained, str) or not pretrained:
        return None
    override = metadata.get("max_length") or metadata.get("max_model_len")
    return {"pretrained": pretrained, "tokenizer": metadata.get("tokenizer") or None,
            "revision": metadata.get("revision") or None,
            "trust_remote_code": bool(metadata.get("trust_remote_code", False)),
            "override": int(override) if override else None}


def fit_rows(rows: list[dict], metadata: dict,
             budget: Callable[[object], int] | None = None) -> list[dict]:
    """Rows whose `input` is cut to fit the context of the model named in `metadata`;
    `budget(tokenizer)`: an answer budget the suite derives from its data, kept free when it is
    larger than the task YAML's (so a prompt never pushes a long answer out of the context).

    Without a model in the metadata (e.g. a model type that has no `pretrained`), rows are
    returned unchanged and without `input_tokens_removed`, and a warning says so.
    """
    source = metadata.get("config_source")
    model = model_from_metadata(metadata)
    if not rows or "input" not in rows[0]:
        return rows
    if model is None or not source or source == "inline":
        log.warning("%s: no model (pretrained) or task YAML in the task metadata: prompts are not "
                    "fitted to the context; lm-eval will cut over-long ones from the left",
                    source or "task")
        return rows
    shape = task_shape(source)
    if shape is None:
        return rows
    context = resolve_context(model["pretrained"], model["override"], model["tokenizer"],
                              model["revision"], model["trust_remote_code"])
    tok = load_tokenizer(model["tokenizer"] or model["pretrained"], model["revision"],
                         model["trust_remote_code"])
    answer = max(shape.budget(tok), budget(tok) if budget is not None else 0)
    limit = context.tokens - answer - safety_margin(context.tokens)
    out = []
    for row in rows:
        row, dropped = drop_turns(row, shape, tok, limit)
        text, removed = fit_input(row, shape, tok, limit)
        turns = {TURNS_KEY: dropped} if "history" in row else {}  # rows that can hold turns
        out.append({**row, "input": text, REMOVED_KEY: removed, **turns})
    dropped = [r[TURNS_KEY] for r in out if r.get(TURNS_KEY)]
    if dropped:
        log.warning("%s: %d of %d conversations lost their oldest earlier turns to fit a "
                    "%d-token context (%s); %d turns dropped in all", Path(source).stem,
                    len(dropped), len(out), context.tokens, context.source, sum(dropped))
    cut = [r[REMOVED_KEY] for r in out if r[REMOVED_KEY]]
    if cut:
        log.warning("%s: %d of %d prompts cut inside the article text to fit a %d-token context "
                    "(%s); up to %d tokens removed", Path(source).stem, len(cut), len(out),
                    context.tokens, context.source, max(cut))
    return out
