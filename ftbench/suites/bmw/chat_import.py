"""`ftbench data import-chat`: chat-format splits (the published study's) → the prepared layout.

The study published its splits as chat JSONL, one row per article and task:
`{"messages": [system, user, assistant]}`. Each row is mapped to its task by its SYSTEM prompt
(exactly one of the four in tasks/bmw/*.yaml — never by words of the text: articles mention
"title" and "topics"), its input is the user message after the task's instruction, and rows are
grouped back into articles by their input text (summarization sees the content, the other tasks
`summary + content`, and the summary is the summarization answer), so per-article paired
statistics still pair. The tag list comes back from the comma-joined answer.

Output: test.jsonl (eval rows, plus a perplexity row per article), train_<articles>.jsonl (the
rows' messages kept byte for byte) and manifest.json — what `ftbench data prepare` writes.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ftbench.core.io import InputError, iter_jsonl, sha256_file, sha256_text
from ftbench.suites.bmw.prepare import LEAKAGE_TASKS, TASKS, PrepareResult
from ftbench.suites.bmw.prompts import task_prompts
from ftbench.suites.bmw.schema import ARTICLE_TYPES
from ftbench.suites.leakage import leakage_audit

SPLITS = ("test", "train")
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatRow:
    task: str
    input: str
    target: str
    messages: list
    where: str  # "file:line"

    @property
    def article_key(self) -> str:
        """The article's `summary + content`: what title/tags/type see, and what summarization's
        answer + input spell."""
        return self.target + self.input if self.task == "summarization" else self.input


def split_of(path: Path, split: str | None = None) -> str | None:
    """'test' / 'train' from the file name (or `split`); None for a validation split (skipped)."""
    if split is not None:
        return split
    name = path.name.lower()
    found = [s for s in SPLITS if s in name]
    if len(found) == 1:
        return found[0]
    if not found and ("val" in name or "dev" in name):
        return None
    raise InputError(f"{path}: cannot tell whether this is a test or a train split from its name;"
                     " name it *test*.jsonl / *train*.jsonl or pass --split test|train")


def read_chat_rows(path: Path) -> list[ChatRow]:
    """Validate and map every row of one chat JSONL file; a row that fits no task stops with
    `FILE:LINE: ...`."""
    prompts = task_prompts()
    by_system = {p.system: task for task, p in prompts.items()}
    rows = []
    for lineno, obj in iter_jsonl(path):
        where = f"{path}:{lineno}"
        msgs = obj.get("messages") if isinstance(obj, dict) else None
        if not (isinstance(msgs, list) and len(msgs) == 3
                and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs)
                and tuple(m.get("role") for m in msgs) == ROLES):
            raise InputError(f"{where}: field 'messages' must be [system, user, assistant] turns "
                             "with string content")
        system, user, answer = (m["content"] for m in msgs)
        task = by_system.get(system)
        if task is None:
            raise InputError(f"{where}: the system prompt {system[:70]!r} is none of the bmw "
                             "tasks' (summarization, title, tags, type; tasks/bmw/*.yaml)")
        prefix = prompts[task].render_user({"input": ""})
        if not user.startswith(prefix):
            raise InputError(f"{where}: the user message does not start with the {task} "
                             f"instruction {prefix.strip()!r} + a blank line")
        if task == "type" and answer not in ARTICLE_TYPES:
            raise InputError(f"{where}: type answer {answer[:40]!r} is not one of "
                             f"{', '.join(ARTICLE_TYPES)}")
        rows.append(ChatRow(task, user[len(prefix):], answer, msgs, where))
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


def group_articles(rows: list[ChatRow]) -> tuple[dict[str, dict[str, ChatRow]], list[str]]:
    """article key → {task: row}, in order of first appearance; repeated (key, task) rows are
    dropped and named."""
    articles: dict[str, dict[str, ChatRow]] = {}
    dropped = []
    for row in rows:
        tasks = articles.setdefault(row.article_key, {})
        if row.task in tasks:
            dropped.append(f"{row.where}: second {row.task} row of the article of "
                           f"{tasks[row.task].where}; dropped")
            continue
        tasks[row.task] = row
    return articles, dropped


def _article_id(key: str) -> str:
    return sha256_text(key)[:12]


def eval_rows(key: str, tasks: dict[str, ChatRow]) -> list[dict]:
    """The test rows of one article (plus its perplexity row), in the layout tasks read."""
    aid = _article_id(key)
    tags = [t.strip() for t in tasks["tags"].target.split(", ")] if "tags" in tasks else []
    kind = tasks["type"].target if "type" in tasks else ""
    rows = [{"id": f"{aid}-{task}", "article_id": aid, "task": task, "input": row.input,
             "target": row.target, "tags": tags, "type": kind, "url": "", "source": row.where}
            for task in TASKS if (row := tasks.get(task))]
    # content = summarization's input; without that row the summary was empty (the study then
    # writes no summarization row) and every other input is the content itself
    content = tasks["summarization"].input if "summarization" in tasks else key
    rows.append({"id": f"{aid}-perplexity", "article_id": aid, "task": "perplexity",
                 "text": content, "type": kind, "url": ""})
    return rows


def train_rows(key: str, tasks: dict[str, ChatRow]) -> list[dict]:
    aid = _article_id(key)
    return [{"id": f"{aid}-{task}", "article_id": aid, "task": task, "messages": row.messages}
            for task in TASKS if (row := tasks.get(task))]


def chat_files(source: Path) -> list[Path]:
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix == ".jsonl" and p.is_file())
        if not files:
            raise InputError(f"{source}: no *.jsonl files")
        return files
    if not source.is_file():
        raise InputError(f"{source}: file not found")
    return [source]


def import_chat(source: Path | str, split: str | None = None) -> PrepareResult:
    """Read chat JSONL file(s) into a PrepareResult (`write_prepared` puts it on disk)."""
    source = Path(source)
    files = chat_files(source)
    if split is not None and len(files) > 1:
        raise InputError(f"--split applies to a single file; {source} holds {len(files)}")
    warnings: list[str] = []
    test_articles: dict[str, dict[str, ChatRow]] = {}
    train: dict[int, list[dict]] = {}
    sizes: dict[str, dict] = {}
    train_types: Counter = Counter()
    inputs = []
    parsed = [(path, split_of(path, split)) for path in files]  # name errors before any reading
    for path, kind in parsed:
        if kind is None:
            warnings.append(f"{path.name}: a validation split, not imported (ftbench training "
                            "holds out its own eval rows from the train split)")
            continue
        articles, dropped = group_articles(read_chat_rows(path))
        warnings += dropped
        inputs.append({"path": str(path), "sha256": sha256_file(path), "split": kind,
                       "articles": len(articles)})
        if kind == "test":
            for key, tasks in articles.items():
                test_articles.setdefault(key, tasks)
            continue
        leaked = [k for k in articles if k in test_articles]
        for key in leaked:
            warnings.append(f"{articles[key][next(iter(articles[key]))].where}: article is also in"
                            " the test split; left out of training")
            del articles[key]
        n = len(articles)
        if n in train:
            raise InputError(f"{path}: a second train split with {n} articles; import it into "
                             "another --out directory")
        train[n] = [r for key, tasks in articles.items() for r in train_rows(key, tasks)]
        train_types.update(t["type"].target for t in articles.values() if "type" in t)
        sizes[str(n)] = {"requested": n, "articles": n, "rows": len(train[n])}
    if not inputs:
        raise InputError(f"{source}: no test or train split to import")
    test: list[dict] = []
    test_types: Counter = Counter()
    for key, tasks in test_articles.items():
        rows = eval_rows(key, tasks)
        test += rows
        test_types[rows[0]["type"]] += 1
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "imported_from": inputs,
        "articles": {"test": len(test_articles), "train": max(train, default=0)},
        "sizes": sizes,
        "test_rows_per_task": dict(Counter(r["task"] for r in test)),
        "test_types": {t: test_types[t] for t in ARTICLE_TYPES},
        "train_types": {t: train_types[t] for t in ARTICLE_TYPES},
        "leakage": leakage_audit([r for r in test if r["task"] != "perplexity"], LEAKAGE_TASKS),
        "warnings": warnings,
    }
    return PrepareResult(test=test, train=train, manifest=manifest, warnings=warnings)
