"""Per task: how many prompts did not fit the context, for the results file's `ftbench.prompts`.

Three cases, said in `method`:
- `article`: rows fitted by a suite's task loader (`input_tokens_removed` per doc); a truncated prompt
  lost the end of its article text, never its instructions; a conversation fitted by dropping its
  oldest earlier turns is counted apart (`turns_dropped_rows`, `turns_dropped`: messages);
- `left`: any other task; a prompt (with its answer budget or continuation) longer than the
  context is one lm-eval cuts from the left — counted here by tokenizing the logged requests;
- `windows`: perplexity (`loglikelihood_rolling`) is scored in windows, nothing is cut;
  `window_tokens` says how long they are.
"""

from __future__ import annotations

from ftbench.suites.fit_context import REMOVED_KEY, TURNS_KEY, n_tokens


def prompt_stats(samples: list[dict], config: dict, context_length: int, tokenizer,
                 window_tokens: int) -> dict:
    """The `ftbench.prompts[<task>]` entry for one task's in-memory lm-eval samples."""
    n = len(samples)
    out: dict = {"context_length": context_length, "n": n}
    kind = config.get("output_type")
    if kind == "loglikelihood_rolling":
        return {**out, "truncated": 0, "truncated_rate": 0.0, "method": "windows",
                "window_tokens": window_tokens}
    if n and all(TURNS_KEY in s["doc"] for s in samples):
        dropped = [int(s["doc"][TURNS_KEY]) for s in samples]
        out.update(turns_dropped_rows=sum(d > 0 for d in dropped), turns_dropped=sum(dropped))
    if n and all(REMOVED_KEY in s["doc"] for s in samples):
        removed = [int(s["doc"][REMOVED_KEY]) for s in samples]
        truncated = sum(r > 0 for r in removed)
        return {**out, "truncated": truncated, "truncated_rate": truncated / n,
                "method": "article", "max_tokens_removed": max(removed)}
    over = sum(_too_long(s["arguments"], kind, tokenizer, context_length) for s in samples)
    return {**out, "truncated": over, "truncated_rate": over / n if n else 0.0, "method": "left"}


def _too_long(arguments: list, kind: str | None, tokenizer, context_length: int) -> bool:
    """Would lm-eval cut any request of this sample from the left?"""
    for args in arguments:
        if kind == "generate_until":
            context, gen_kwargs = args[0], (args[1] if len(args) > 1 else {}) or {}
            budget = int(gen_kwargs.get("max_gen_toks", 256))
            if n_tokens(tokenizer, context) + budget > context_length:
                return True
        elif len(args) >= 2 and (  # loglikelihood: context + continuation (+1 kept by vLLM)
                n_tokens(tokenizer, args[0]) + n_tokens(tokenizer, args[1]) + 1 > context_length):
            return True
    return False
