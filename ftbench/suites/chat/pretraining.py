"""The texts the embedded tiny model pre-trains on for a chat study: the train conversations.

Only train rows: the held-out references stay unseen, so a tiny model's scores on them are
honest. A study's prepared directory gives its largest train size (checked against its
manifest); without one, the bundled sample split as the tasks split it.
"""

from __future__ import annotations

from pathlib import Path

from ftbench.core.fingerprint import digest
from ftbench.core.io import InputError, read_jsonl, sha256_file
from ftbench.suites.base import PretrainingData
from ftbench.suites.chat.prepare import prepare_rows
from ftbench.suites.chat.resources import SAMPLE_CHAT, SAMPLE_PREPARE
from ftbench.suites.layout import PrepareSettings, read_prepared_manifest


def _text(row: dict) -> str:
    return "\n\n".join(m["content"] for m in row["messages"])


def pretraining(prepared: Path | None, corpus: Path | None) -> PretrainingData:
    """`Suite.pretraining`: the largest train split of `prepared`, else of `corpus` (or the
    bundled sample) split with the sample's settings."""
    if prepared is not None:
        manifest = read_prepared_manifest(prepared) or {}
        files = {n: h for n, h in (manifest.get("files") or {}).items() if n.startswith("train_")}
        if not files:
            raise InputError(f"{Path(prepared) / 'manifest.json'}: no train split recorded; the "
                             "data stage must run before the tiny model is built")
        name = max(files, key=lambda n: int(n[len("train_"):-len(".jsonl")]))
        path = Path(prepared) / name
        if not path.is_file() or sha256_file(path) != files[name]:
            raise InputError(f"{path}: missing or differs from its manifest; re-run the data "
                             "stage")
        texts = [_text(r) for r in read_jsonl(path)]
        record = {"from": "prepared train split", "file": {"path": str(path),
                                                           "sha256": files[name]}}
    else:
        source = Path(corpus or SAMPLE_CHAT)
        result = prepare_rows(source, PrepareSettings(**SAMPLE_PREPARE))
        texts = [_text(r) for r in result.train[max(result.train)]]
        record = {"from": "corpus train split", "source": {"path": str(source),
                                                           "sha256": sha256_file(source)},
                  "split": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in SAMPLE_PREPARE.items()}}
    return PretrainingData(texts, {**record, "articles": len(texts),
                                   "texts_sha256": digest(texts)})
