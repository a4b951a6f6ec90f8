"""The article texts the embedded tiny model pre-trains on: a train split, never a test article.

A study pre-trains on its own prepared split (`prepared_split_data`: every article not held
out, whatever the seed and test size); the standalone builder and the test fixture use the
bundled sample split (`sample_split_data`, seed 42 / 16 test articles).
"""

from __future__ import annotations

from pathlib import Path

from ftbench.core.io import sha256_file
from ftbench.suites.base import PretrainingData
from ftbench.suites.bmw.resources import SAMPLE_CORPUS


def article_text(article) -> str:
    return f"{article.title}\n\n{article.summary}\n\n{article.content}"


def _train_texts(source: Path, test_rows: list[dict], skip_invalid: bool) -> list[str]:
    """Every article of `source` that preparation kept (same dedupe) and did not hold out."""
    from ftbench.suites.bmw.prepare import article_id, dedupe
    from ftbench.suites.bmw.schema import load_articles

    test_ids = {r["article_id"] for r in test_rows}
    test_urls = {r["url"] for r in test_rows if r.get("url")}
    articles, _ = load_articles(source, skip_invalid=skip_invalid)
    kept, _ = dedupe(articles)
    train = [a for a in kept if article_id(a) not in test_ids]
    if any(a.url and a.url in test_urls for a in train):  # cannot happen; a leak inflates scores
        raise RuntimeError(f"{source}: a held-out article is among the pre-training texts")
    return [article_text(a) for a in train]


def sample_split_data(corpus: Path | str) -> PretrainingData:
    """The train split of `corpus` made with the bundled sample's settings (seed 42, 16 test
    articles): the standalone `ftbench tiny-model` and the test fixture use it."""
    from ftbench.core.fingerprint import digest
    from ftbench.suites.bmw.prepare import prepare_file
    from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

    corpus = Path(corpus)
    test = prepare_file(corpus, **SAMPLE_PREPARE).test
    texts = _train_texts(corpus, test, skip_invalid=False)
    split = {k: list(v) if isinstance(v, tuple) else v for k, v in SAMPLE_PREPARE.items()}
    return PretrainingData(texts, {
        "from": "corpus train split", "source": {"path": str(corpus), "sha256": sha256_file(corpus)},
        "split": split, "articles": len(texts),
        "held_out_articles": len({r["article_id"] for r in test}), "texts_sha256": digest(texts)})


def prepared_split_data(prepared: Path | str) -> PretrainingData:
    """All train-split articles of a prepared directory (`ftbench data prepare`, a study's data
    stage): its raw source minus its held-out test articles. The source and test.jsonl must still
    be what the manifest recorded, and the count must equal the manifest's train articles."""
    from ftbench.core.fingerprint import digest
    from ftbench.core.io import InputError, read_jsonl
    from ftbench.suites.bmw.prepare import read_prepared_manifest

    prepared = Path(prepared)
    manifest = read_prepared_manifest(prepared)
    if not manifest or "source" not in manifest:
        raise InputError(f"{prepared / 'manifest.json'}: not found or not a prepared directory; "
                         "the data stage must run before the tiny model is built")
    test_path = prepared / "test.jsonl"
    test_sha = sha256_file(test_path) if test_path.is_file() else None
    if test_sha is None or test_sha != (manifest.get("files") or {}).get("test.jsonl"):
        raise InputError(f"{test_path}: missing or differs from {prepared / 'manifest.json'}; "
                         "re-run the data stage")
    source = Path(manifest["source"]["path"])
    if not source.is_file() or sha256_file(source) != manifest["source"]["sha256"]:
        raise InputError(f"{source}: missing or changed since {prepared} was prepared from it; "
                         "re-run the data stage")
    skip_invalid = bool(((manifest.get("fingerprint") or {}).get("settings") or {})
                        .get("skip_invalid", False))
    test = read_jsonl(test_path)
    texts = _train_texts(source, test, skip_invalid)
    expected = (manifest.get("articles") or {}).get("train")
    if expected is not None and expected != len(texts):
        raise RuntimeError(f"{prepared}: rebuilt {len(texts)} train articles, the manifest "
                           f"says {expected}")
    return PretrainingData(texts, {
        "from": "prepared train split", "prepared_dir": str(prepared),
        "source": {"path": str(source), "sha256": manifest["source"]["sha256"]},
        "test_file": {"path": str(test_path), "sha256": test_sha},
        "articles": len(texts), "held_out_articles": len({r["article_id"] for r in test}),
        "texts_sha256": digest(texts)})


def pretraining_texts(corpus: Path) -> list[str]:
    """Article texts of the corpus's train split (same split as the prepared sample)."""
    return sample_split_data(corpus).texts


def pretraining(prepared: Path | None, corpus: Path | None) -> PretrainingData:
    """`Suite.pretraining`: the prepared split when a study has one, else the corpus's (or the
    bundled sample's) split with the sample's settings."""
    if prepared is not None:
        return prepared_split_data(prepared)
    return sample_split_data(corpus or SAMPLE_CORPUS)
