"""The three common chat-data shapes, read into one row: system, prompt, reference.

OpenAI `{"messages": [{"role", "content"}]}`, ShareGPT `{"conversations": [{"from", "value"}]}`
and Alpaca `{"instruction", "input", "output"}` (LLaMA-Factory's optional `system` and
`history` too) are what LLaMA-Factory, axolotl, unsloth and trl take. Each file has one shape,
detected from its first row; a row of another shape or of none stops with `FILE:LINE`, before
anything is trained on a half-read file. The last assistant turn is the reference; the turns
before it are the prompt: the last user turn (`input`) and the earlier user / assistant turns
(`history`), kept as separate turns so training and evaluation render the same chat.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from ftbench.core.io import InputError, iter_jsonl

SHAPES = ("openai", "sharegpt", "alpaca")
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                  "assistant": "assistant", "chatgpt": "assistant", "bard": "assistant",
                  "bing": "assistant", "model": "assistant"}
TASK = "answer"  # the task key of every chat row (tasks/chat/chat_answer.yaml)


def shape_of(obj) -> str | None:
    """Which of SHAPES a JSON object is, or None."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("messages"), list):
        return "openai"
    if isinstance(obj.get("conversations"), list):
        return "sharegpt"
    if "instruction" in obj and "output" in obj:
        return "alpaca"
    return None


def _text(value, where: str) -> str:
    """A turn's content: a string, or OpenAI's list of text parts joined."""
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                       for p in value):
        value = "".join(str(p.get("text", "")) for p in value)
    if not isinstance(value, str):
        raise InputError(f"{where}: must be a string, got {type(value).__name__}")
    return value


def _turns(obj: dict, where: str, field: str, role_key: str, content_key: str,
           roles: dict[str, str] | None = None) -> list[dict]:
    """A list of turn objects; `roles` maps the data's role names (ShareGPT's "from")."""
    out = []
    for i, m in enumerate(obj[field]):
        if not isinstance(m, dict):
            raise InputError(f"{where}: field '{field}[{i}]' must be an object")
        role = m.get(role_key)
        if roles is not None:
            role = roles.get(str(role).lower())
            if role is None:
                raise InputError(f"{where}: field '{field}[{i}].{role_key}' must be one of "
                                 f"{', '.join(roles)}, got {m.get(role_key)!r}")
        content = _text(m.get(content_key), f"{where}: field '{field}[{i}].{content_key}'")
        out.append({"role": role, "content": content})
    return out


def _openai(obj: dict, where: str) -> list[dict]:
    return _turns(obj, where, "messages", "role", "content")


def _sharegpt(obj: dict, where: str) -> list[dict]:
    return _turns(obj, where, "conversations", "from", "value", SHAREGPT_ROLES)


def _alpaca(obj: dict, where: str) -> list[dict]:
    out = []
    if obj.get("system"):
        out.append({"role": "system", "content": _text(obj["system"], f"{where}: field 'system'")})
    for i, pair in enumerate(obj.get("history") or []):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InputError(f"{where}: field 'history[{i}]' must be a [question, answer] pair")
        out += [{"role": "user", "content": _text(pair[0], f"{where}: field 'history[{i}]'")},
                {"role": "assistant", "content": _text(pair[1], f"{where}: field 'history[{i}]'")}]
    instruction = _text(obj["instruction"], f"{where}: field 'instruction'")
    extra = _text(obj.get("input") or "", f"{where}: field 'input'")
    out.append({"role": "user", "content": f"{instruction}\n\n{extra}" if extra else instruction})
    out.append({"role": "assistant", "content": _text(obj["output"], f"{where}: field 'output'")})
    return out


READERS = {"openai": _openai, "sharegpt": _sharegpt, "alpaca": _alpaca}


def to_row(messages: list[dict], where: str) -> dict:
    """system / history (earlier turns) / input (the last user turn) / target of one
    conversation, checked."""
    roles = [m["role"] for m in messages]
    bad = next((r for r in roles if r not in ("system", "user", "assistant")), None)
    if bad is not None or "system" in roles[1:]:
        raise InputError(f"{where}: roles must be system (first only), user, assistant; got "
                         f"{', '.join(map(str, roles))}")
    system = messages[0]["content"] if roles and roles[0] == "system" else ""
    turns = messages[1:] if roles and roles[0] == "system" else messages
    if len(turns) < 2 or turns[-1]["role"] != "assistant" or turns[0]["role"] != "user":
        raise InputError(f"{where}: a conversation must start with a user turn and end with an "
                         f"assistant turn (the reference); got {', '.join(roles) or 'no turns'}")
    prompt, target = turns[:-1], turns[-1]["content"]
    if any(a["role"] == b["role"] for a, b in pairwise(prompt)):
        raise InputError(f"{where}: user and assistant turns must alternate; got "
                         f"{', '.join(roles)}")
    if not target.strip() or not prompt[-1]["content"].strip():
        raise InputError(f"{where}: the last user turn and the reference must not be empty")
    return {"system": system, "history": prompt[:-1], "input": prompt[-1]["content"],
            "target": target, "turns": len(prompt)}


def read_chat_file(path: Path | str) -> tuple[str, list[dict]]:
    """(the file's shape, its rows): `id` (given, else FILE-stem:LINE), `article_id` (= id),
    `task`, `system`, `input`, `target`, `turns`, `category` and `topic` (given, else "").
    `category` groups rows (results per category); `topic` is a per-row label carried to the
    per-sample logs, never a group (a topic per question would make groups of one)."""
    path = Path(path)
    shape, first_line, rows, seen = None, 0, [], {}
    for lineno, obj in iter_jsonl(path):
        where = f"{path}:{lineno}"
        this = shape_of(obj)
        if this is None:
            keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
            raise InputError(f"{where}: unknown chat shape (keys: {keys}); expected 'messages' "
                             "(OpenAI), 'conversations' (ShareGPT) or 'instruction' + 'output' "
                             "(Alpaca)")
        if shape is None:
            shape, first_line = this, lineno
        elif this != shape:
            raise InputError(f"{where}: a {this} row in a file of {shape} rows (line "
                             f"{first_line}); one shape per file")
        row = to_row(READERS[shape](obj, where), where)
        rid = obj.get("id")
        if (rid is not None and not isinstance(rid, (str, int))) or isinstance(rid, bool):
            raise InputError(f"{where}: field 'id' must be a string or an integer")
        rid = str(rid) if rid is not None else f"{path.stem}:{lineno}"
        if rid in seen:
            raise InputError(f"{where}: field 'id': {rid!r} repeats line {seen[rid]}")
        seen[rid] = lineno
        labels = {k: obj.get(k, "") for k in ("category", "topic")}
        for key, value in labels.items():
            if not isinstance(value, str):
                raise InputError(f"{where}: field '{key}' must be a string")
        rows.append({"id": rid, "article_id": rid, "task": TASK, **labels, **row})
    if not rows:
        raise InputError(f"{path}: no rows")
    return shape, rows


def conversation(row: dict) -> list[dict]:
    """The chat a row is trained on: its system message (if any), the earlier turns, the last
    user turn, the reference."""
    system = [{"role": "system", "content": row["system"]}] if row["system"] else []
    return [*system, *(row.get("history") or []), {"role": "user", "content": row["input"]},
            {"role": "assistant", "content": row["target"]}]
