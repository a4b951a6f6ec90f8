"""A chat file or folder → the shared prepared layout (test.jsonl, nested train_N.jsonl).

Files whose names say `train` / `test` are used as given (the test files held out, the train
files making the nested sizes); otherwise every file is pooled and split by `data.test_size` /
`data.seed`. Train rows are the conversations as read (system, prompt, reference), so training
and evaluation render the same turns with the same chat template.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ftbench.core.io import InputError
from ftbench.suites.chat.formats import conversation, read_chat_file
from ftbench.suites.layout import PrepareResult, PrepareSettings, prepare_examples
from ftbench.suites.prompts import TaskPrompt


def chat_files(source: Path) -> list[Path]:
    """The JSONL files a source names: the file itself, or a folder's `*.jsonl` (sorted)."""
    source = Path(source)
    if source.is_file():
        return [source]
    files = sorted(source.glob("*.jsonl")) if source.is_dir() else []
    if not files:
        raise InputError(f"{source}: no chat JSONL file (a .jsonl file or a folder of them)")
    return files


def split_of(path: Path) -> str | None:
    """"test" / "train" when the file name says so, else None."""
    name = path.stem.lower()
    found = [s for s in ("test", "train") if s in name]
    return found[0] if len(found) == 1 else None


def check_splits(source: Path, trains: bool) -> None:
    """Before any work (`Suite.check_raw`): a study that trains needs train rows, which a source
    split by file name has only in a *train* file."""
    splits = {split_of(f) for f in chat_files(source)}
    if trains and splits == {"test"}:
        raise InputError(f"{source}: only test rows (*test*.jsonl), nothing to train on; add a "
                         "*train* file, or set evaluate_only: true to evaluate the listed models")


def read_source(source: Path, trains: bool = True) -> tuple[list[dict], set[str] | None, dict]:
    """(all rows, the ids held out by file name or None, {file: shape}); `trains` False: a
    source of test files only is whole (an evaluation-only study)."""
    rows, held_out, shapes, ids = [], set(), {}, {}
    files = chat_files(source)
    splits = {f: split_of(f) for f in files}
    given = any(splits.values())
    for f in files:
        if given and splits[f] is None:
            raise InputError(f"{f}: its folder splits by file name (*train* / *test*), but this "
                             "file's name says neither; rename or move it")
        shape, file_rows = read_chat_file(f)
        shapes[str(f)] = shape
        for r in file_rows:
            if r["id"] in ids:
                raise InputError(f"{f}: id {r['id']!r} is also in {ids[r['id']]}")
            ids[r["id"]] = f
            if splits[f] == "test":
                held_out.add(r["id"])
        rows += file_rows
    if given and (not held_out or (trains and len(held_out) == len(rows))):
        missing = "test" if not held_out else "train"
        raise InputError(f"{source}: files are split by name but none is a {missing} file "
                         f"(*{missing}*.jsonl)")
    return rows, (held_out if given else None), shapes


def prepare_rows(source: Path, settings: PrepareSettings) -> PrepareResult:
    """The suite's `prepare_rows`: every row is one `answer` item; train rows are chats."""
    rows, held_out, shapes = read_source(Path(source), trains=bool(settings.sizes))
    # the split and the nested sizes are the shared layout's; the user turn is the prompt as is
    result = prepare_examples(rows, settings, {"answer": TaskPrompt("", "{{input}}")},
                              str(source), held_out=held_out)
    by_id = {r["id"]: r for r in rows}
    for size, train in result.train.items():
        result.train[size] = [{**t, "messages": conversation(by_id[t["id"]])} for t in train]
    result.manifest["shapes"] = shapes
    result.manifest["split"] = "by file name" if held_out is not None else "seeded"
    result.manifest["test_rows_per_category"] = dict(Counter(r["category"]
                                                             for r in result.test))
    return result
