"""Generation settings a task ran with, how often answers ran into the token budget, thinking.

An answer cut by `max_gen_toks` is scored on its first part only, so each results file records,
per generative task, the budget and stops it ran with and the share of answers that used the
whole budget (`ftbench.generation[<task>]`). It is counted from the per-sample responses: a
response whose length, re-encoded with the model's own tokenizer, reaches the budget (minus one
token of re-encoding slack) used all of it. Re-encoding can merge tokens the model generated one
by one (a run of "+++" is one token when re-encoded), so the count is a lower bound for such
degenerate output and exact otherwise.

Reasoning models: Qwen3-style chat templates think unless `enable_thinking=False` is passed to
them; ftbench passes it by default (harmless for templates that do not read it) and turns it on
on request. Thinking blocks are removed by the tasks' answer extraction either way.
"""

from __future__ import annotations

from collections.abc import Mapping

from ftbench.suites.registry import suite_of_task

RETOKENIZE_SLACK = 1
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default when a task sets none


def thinking_model_args(backend: str, enable_thinking: bool) -> dict:
    """Model args that switch a chat template's thinking mode off (default) or on.

    Off: `enable_thinking=False` for both backends (lm-eval hands it to the template). On, hf:
    `chat_template_args={"enable_thinking": True}` — not lm-eval's own `enable_thinking=True`,
    which would refuse the loglikelihood tasks (perplexity, type_mc) and cut the reasoning before
    ftbench can count its tokens. On, vLLM: nothing, i.e. the template's default (Qwen3: thinks);
    lm-eval 0.4.13's vllm backend drops an `enable_thinking` given in chat_template_args.
    """
    if not enable_thinking:
        return {"enable_thinking": False}
    return {"chat_template_args": {"enable_thinking": True}} if backend == "hf" else {}


def template_reads_thinking(tokenizer) -> bool:
    """Whether the model's chat template reads `enable_thinking` (a reasoning model's template)."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, Mapping):
        template = " ".join(str(t) for t in template.values())
    return "enable_thinking" in str(template)


def token_count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _response(sample: dict) -> str:
    resp = sample.get("resps")
    while isinstance(resp, list) and resp:
        resp = resp[0]
    return resp if isinstance(resp, str) else ""


def generation_record(config: Mapping, samples: list[dict], tokenizer,
                      default_max: int = DEFAULT_MAX_GEN_TOKS) -> dict | None:
    """{max_gen_toks, until, n, budget_hits, budget_hit_rate, max_response_tokens} of one
    generative task from its config and per-sample log; None for other output types.

    budget_hits is None when the model exposes no tokenizer to count with.
    """
    if config.get("output_type") != "generate_until":
        return None
    gen = dict(config.get("generation_kwargs") or {})
    budget = int(gen.get("max_gen_toks") or default_max)
    record = {"max_gen_toks": budget, "until": list(gen.get("until") or []), "n": len(samples),
              "budget_hits": None, "budget_hit_rate": None, "max_response_tokens": None}
    if tokenizer is None or not samples:
        return record
    lengths = [token_count(tokenizer, _response(s)) for s in samples]
    hits = sum(n >= budget - RETOKENIZE_SLACK for n in lengths)
    record.update(budget_hits=hits, budget_hit_rate=hits / len(samples),
                  max_response_tokens=max(lengths))
    return record


def generation_block(results: Mapping, samples: Mapping[str, list[dict]], tokenizer,
                     default_max: int = DEFAULT_MAX_GEN_TOKS) -> dict[str, dict]:
    """`ftbench.generation` of one lm-eval call: a record per generative task it ran."""
    out = {}
    for task, config in (results.get("configs") or {}).items():
        record = generation_record(config, samples.get(task) or [], tokenizer, default_max)
        if record is not None:
            out[task] = record
    return out


def gen_kwargs_for(task: str, max_gen_toks: int | Mapping[str, int] | None) -> dict | None:
    """lm-eval `gen_kwargs` overriding one task's budget (a study's `eval.max_gen_toks`: one
    number for every generative task, or a mapping task -> number); None = the task's own."""
    if max_gen_toks is None:
        return None
    if isinstance(max_gen_toks, Mapping):
        value = max_gen_toks.get(task)
        return None if value is None else {"max_gen_toks": int(value)}
    return {"max_gen_toks": int(max_gen_toks)}


def task_budget(task: str, max_gen_toks: int | Mapping[str, int] | None, metadata: dict | None,
                tokenizer) -> tuple[dict | None, dict | None]:
    """(lm-eval `gen_kwargs`, how the budget was chosen) for one task: `eval.max_gen_toks` when
    it covers the task, else the budget the task's suite derives from the data it evaluates
    (`Suite.answer_budget`, with the model's tokenizer), else (None, None): the task's own."""
    given = gen_kwargs_for(task, max_gen_toks)
    if given is not None:
        return given, {"max_gen_toks": given["max_gen_toks"], "from": "eval.max_gen_toks"}
    suite = suite_of_task(task)
    derive = suite.answer_budget if suite is not None else None
    record = derive(task, metadata or {}, tokenizer) if derive is not None else None
    if record is None:
        return None, None
    return {"max_gen_toks": int(record["max_gen_toks"])}, record
