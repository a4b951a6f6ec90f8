"""Prepared train rows → SFT datasets: checks, eval split, length fitting, loss-mask format.

Why here and not in trl: the prepared directory's manifest tells us how many articles a size really
holds and what the files' hashes were, so a wrong size or a modified file is caught before any model
loads. Long articles are shortened in the *user* turn so the assistant answer (the only trained
tokens) is never cut off by truncation.

Prompt format: a model with a chat template is trained on the chat rows as they are; a base model
without one (or one configured `chat_template: none`) is trained on the *plain* prompt — the text
lm-eval builds without `--apply_chat_template` (system prompt, then user turn) followed by the
target delimiter and the answer — so training and evaluation see the same string.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.core.io import InputError, read_jsonl, sha256_file

ROLES = ("system", "user", "assistant")
PROMPT_FORMATS = ("chat", "plain")
TARGET_DELIMITER = " "  # the task templates' `target_delimiter`, lm-eval's default
TURN_DELIMITER = "\n\n"  # lm-eval's `fewshot_delimiter`: after each earlier assistant turn


def valid_turns(roles: tuple) -> bool:
    """A system message (optional), then user / assistant turns alternating, user first and
    assistant last (a multi-turn conversation; one exchange is the common case)."""
    turns = roles[1:] if roles[:1] == ("system",) else roles
    return (len(turns) >= 2 and len(turns) % 2 == 0
            and all(r == ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(turns)))


@dataclass
class TrainData:
    """The rows of one train size, split by article into train and eval parts."""

    path: Path
    sha256: str
    articles: int
    train_rows: list[dict]
    eval_rows: list[dict]
    fit_stats: dict[str, int] = field(default_factory=dict)


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "manifest.json"
    if not path.is_file():
        raise InputError(f"{path}: not found; config key 'data_dir' must name a directory made by "
                         "`ftbench data prepare`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON ({exc.msg})") from None


def check_train_file(data_dir: Path, size: int, manifest: dict, key: str) -> Path:
    """The train file of `size`, after checking it exists, is big enough and is unmodified."""
    path = data_dir / f"train_{size}.jsonl"
    available = sorted(int(s) for s in manifest.get("sizes", {}))
    total = manifest.get("articles", {}).get("train")
    info = manifest.get("sizes", {}).get(str(size))
    if info is not None and info.get("articles", size) < size:
        raise InputError(
            f"config key '{key}': train size {size} is larger than the {info['articles']} train "
            f"articles in {data_dir / 'manifest.json'}")
    if info is None and total is not None and size > total:
        raise InputError(f"config key '{key}': train size {size} is larger than the {total} train "
                         f"articles in {data_dir / 'manifest.json'}")
    if not path.is_file():
        raise InputError(f"{path}: not found (config key '{key}' = {size}); prepared sizes in "
                         f"{data_dir}: {available}")
    expected = manifest.get("files", {}).get(path.name)
    if expected and sha256_file(path) != expected:
        raise InputError(f"{path}: sha256 differs from {data_dir / 'manifest.json'}; the file was "
                         "modified after `ftbench data prepare` — prepare it again")
    return path


def load_rows(path: Path) -> list[dict]:
    """Read a train file; every row needs a `messages` list: (system,) user, assistant (and
    more user / assistant turns before the last for a multi-turn conversation)."""
    rows = read_jsonl(path)
    for i, row in enumerate(rows, start=1):
        msgs = row.get("messages") if isinstance(row, dict) else None
        roles = tuple(m.get("role") for m in msgs) if isinstance(msgs, list) else ()
        if not valid_turns(roles) or not all(isinstance(m.get("content"), str) for m in msgs):
            raise InputError(f"{path}: row {i}: 'messages' must be system (optional), then user "
                             "and assistant turns alternating, with string content")
        row.setdefault("article_id", row.get("id", str(i)))
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


def split_eval(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole articles (all their tasks) so eval loss measures unseen articles."""
    ids = sorted({r["article_id"] for r in rows})
    n_eval = round(len(ids) * fraction)
    if fraction > 0 and n_eval == 0 and len(ids) >= 2:
        n_eval = 1
    if n_eval == 0:
        return rows, []
    random.Random(seed).shuffle(ids)
    held = set(ids[:n_eval])
    return [r for r in rows if r["article_id"] not in held], [r for r in rows if r["article_id"] in held]


def choose_prompt_format(tokenizer, chat_template: str = "auto") -> tuple[str, str]:
    """('chat' or 'plain', the reason, for the manifest and the console)."""
    if chat_template == "none":
        return "plain", "the model is configured with chat_template: none"
    if not getattr(tokenizer, "chat_template", None):
        return "plain", "the tokenizer has no chat template"
    return "chat", "the tokenizer's chat template"


def plain_prompt(messages: list[dict]) -> str:
    """System + user turn exactly as lm-eval 0.4.13 renders a zero-shot prompt without a chat
    template (`fewshot_context`: the description, then `doc_to_text`, no separator in between);
    tests/train/test_train_data.py checks it against lm-eval itself. No system turn: the user
    turn alone. Earlier turns of a multi-turn conversation come before the last user turn as
    lm-eval renders them as shots: `user` + target delimiter + `assistant` + turn delimiter."""
    system = [m["content"] for m in messages[:1] if m["role"] == "system"]
    turns = messages[len(system):-1]
    earlier = [u["content"] + TARGET_DELIMITER + a["content"] + TURN_DELIMITER
               for u, a in zip(turns[:-1:2], turns[1:-1:2], strict=True)]
    return "".join([*system, *earlier, turns[-1]["content"]])


def plain_record(messages: list[dict]) -> dict:
    """Prompt/completion strings; trl appends the EOS token to the completion."""
    return {"prompt": plain_prompt(messages),
            "completion": TARGET_DELIMITER + messages[-1]["content"]}


def _length(tokenizer, messages: list[dict], prompt_format: str = "chat") -> int:
    if prompt_format == "plain":
        rec = plain_record(messages)
        text = rec["prompt"] + rec["completion"] + (tokenizer.eos_token or "")
        return len(tokenizer(text)["input_ids"])
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)
    return len(out["input_ids"])


def fit_to_length(rows: list[dict], tokenizer, max_len: int,
                  prompt_format: str = "chat") -> tuple[list[dict], dict[str, int]]:
    """Shorten the user turn (keeping its start) so each conversation fits in `max_len` tokens.

    Rows whose system prompt and answer alone do not fit are dropped and counted.
    """
    out, stats = [], {"rows": len(rows), "user_truncated": 0, "dropped_too_long": 0}
    for row in rows:
        msgs = [dict(m) for m in row["messages"]]
        n = _length(tokenizer, msgs, prompt_format)
        tries = 0
        while n > max_len and tries < 4:
            ids = tokenizer(msgs[-2]["content"], add_special_tokens=False)["input_ids"]
            keep = len(ids) - (n - max_len) - 4 * (tries + 1)  # margin: re-tokenising can merge
            if keep <= 0:
                break
            msgs[-2]["content"] = tokenizer.decode(ids[:keep])
            n, tries = _length(tokenizer, msgs, prompt_format), tries + 1
        if n > max_len:
            stats["dropped_too_long"] += 1
            continue
        if tries:
            stats["user_truncated"] += 1
        out.append({**row, "messages": msgs})
    return out, stats


def choose_loss_mask(tokenizer, requested: str, prompt_format: str = "chat") -> str:
    """'assistant' when the chat template can mark assistant tokens, else 'completion'.

    trl 1.16's `assistant_only_loss` needs `{% generation %}` markers; it patches the templates of
    known model families (`get_training_chat_template`). Others (e.g. Llama 3.2's) are trained as
    prompt/completion pairs with `completion_only_loss`, which masks the prompt the same way.
    The plain prompt format has no turns to mark: always 'completion'.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = tokenizer.chat_template
    if prompt_format == "plain" or not template:
        if requested == "assistant":
            raise InputError("config key 'loss_mask': 'assistant' needs a chat template; this "
                             "model is trained with the plain prompt format: use 'auto' or "
                             "'completion'")
        return "completion"
    supported = has_generation_markers(template)
    if not supported:
        try:
            supported = get_training_chat_template(tokenizer) is not None
        except ValueError:
            supported = False
    if requested == "assistant" and not supported:
        raise InputError("config key 'loss_mask': 'assistant' needs {% generation %} markers in the "
                         "chat template (or a template trl can patch); use 'completion' or 'auto'")
    if requested == "auto":
        return "assistant" if supported else "completion"
    return requested


def to_records(rows: list[dict], loss_mask: str, prompt_format: str = "chat") -> list[dict]:
    """Conversational rows for `assistant_only_loss`, prompt/completion message pairs, or (plain
    format) prompt/completion strings."""
    if prompt_format == "plain":
        return [plain_record(r["messages"]) for r in rows]
    if loss_mask == "assistant":
        return [{"messages": r["messages"]} for r in rows]
    return [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]


def load_train_data(path: Path, sha256: str, eval_fraction: float, seed: int, tokenizer,
                    max_len: int, prompt_format: str = "chat") -> TrainData:
    """Everything a run needs from its train file, ready for `to_records`."""
    rows = load_rows(path)
    fitted, stats = fit_to_length(rows, tokenizer, max_len, prompt_format)
    if not fitted:
        raise InputError(f"{path}: no row fits in max_seq_length={max_len} tokens")
    train, held = split_eval(fitted, eval_fraction, seed)
    articles = len({r["article_id"] for r in rows})
    return TrainData(path=path, sha256=sha256, articles=articles, train_rows=train,
                     eval_rows=held, fit_stats=stats)
