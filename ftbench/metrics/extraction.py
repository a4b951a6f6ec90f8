"""Answer extraction: what a model's raw response actually answers, before any task parser.

Real models wrap their answers: reasoning models write a `<think>…</think>` block first (and run
out of tokens inside it), chat models leave template residue (`<|im_end|>`, a role header such as
"assistant\\n" when special tokens are decoded as text, a next turn after an end-of-turn marker).
Scoring that text directly makes a parser pick labels out of the reasoning and makes ROUGE count
the residue. This stage removes all of it, identically for every backend and model; the task
parsers (`classification`, `tags`) and the text metrics only ever see its output.

An empty result means "no answer" (nothing but reasoning, or an unterminated reasoning block):
every task counts it as a format failure (`unparseable`).
"""

from __future__ import annotations

import re

# Reasoning blocks: <think> (Qwen3, DeepSeek-R1, SmolLM3), <thinking>, <reasoning>.
_REASONING_TAGS = ("think", "thinking", "reasoning")
_OPEN_RE = re.compile(r"<(" + "|".join(_REASONING_TAGS) + r")>", re.IGNORECASE)
_CLOSED_BLOCK_RE = re.compile(
    r"<(" + "|".join(_REASONING_TAGS) + r")>.*?</\1>", re.IGNORECASE | re.DOTALL)
_CLOSE_RE = re.compile(r"</(?:" + "|".join(_REASONING_TAGS) + r")>", re.IGNORECASE)

# End-of-turn / end-of-text markers of the common chat templates (ChatML, Llama 3, Gemma, Phi,
# Mistral, GPT-2 style). Everything after the first one is a new turn, not the answer.
END_OF_TURN_MARKERS = (
    "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<|end|>", "</s>", "<eos>", "<|return|>",
)
_END_RE = re.compile("|".join(re.escape(m) for m in END_OF_TURN_MARKERS))
# Role headers a template puts before the assistant turn, when they reach the decoded text.
_HEADER_RE = re.compile(
    r"^\s*(?:"
    r"<\|im_start\|>\s*assistant\s*\n?"                                  # ChatML
    r"|<\|start_header_id\|>\s*assistant\s*<\|end_header_id\|>\s*"      # Llama 3
    r"|<start_of_turn>\s*model\s*\n?"                                    # Gemma
    r"|<\|assistant\|>\s*"                                               # Phi / Zephyr
    r"|(?:<s>|<bos>|<\|begin_of_text\|>)\s*"                             # stray BOS
    r"|(?:assistant[ \t]*:?|model)[ \t]*\n"                              # header decoded as text
    r")",
    re.IGNORECASE,
)


def strip_template_residue(text: str) -> str:
    """Cut at the first end-of-turn marker and drop leading role headers / BOS tokens."""
    text = _END_RE.split(text or "", maxsplit=1)[0]
    previous = None
    while text != previous:
        previous = text
        text = _HEADER_RE.sub("", text, count=1)
    return text


def strip_reasoning(text: str) -> str:
    """Remove reasoning blocks; an unterminated one removes everything from its opening tag.

    Complete blocks go first. A closing tag without an opening one (templates that open the
    block inside the prompt, e.g. DeepSeek-R1's) drops everything before it. A block that never
    closes means the model ran out of tokens while reasoning: no answer follows it.
    """
    text = _CLOSED_BLOCK_RE.sub("", text or "")
    closes = list(_CLOSE_RE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    opening = _OPEN_RE.search(text)
    if opening:
        text = text[: opening.start()]
    return text


def extract_answer(text: str | None) -> str:
    """The answer part of a raw model response, stripped; '' when there is none."""
    text = strip_template_residue(text or "")
    text = strip_reasoning(text)
    return strip_template_residue(text).strip()
