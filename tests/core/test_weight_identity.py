"""Big weight files are identified by content, hashed once (ftbench/core/fingerprint.py,
ftbench/core/hash_cache.py).

Why: size+mtime took a `cp -p` copy of another checkpoint for the same model and a re-written
identical file for a new one. The limit is lowered to a few KB so that real files exercise the
cached path without writing 64 MiB.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ftbench.core import fingerprint as fp
from ftbench.core import hash_cache
from ftbench.train.grid import stale_reason

LIMIT = 4096


@pytest.fixture()
def hashed(monkeypatch, tmp_path) -> list[Path]:
    """A fresh cache, the lowered limit, and the list of files hashed in full (in order)."""
    monkeypatch.setenv("FTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fp, "FULL_HASH_LIMIT", LIMIT)
    seen: list[Path] = []
    real = hash_cache.sha256_file

    def counting(path):
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(hash_cache, "sha256_file", counting)
    return seen


def _weights(path: Path, byte: int, size: int = 3 * LIMIT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([byte]) * size)
    return path


def test_small_files_keep_plain_sha256(hashed, tmp_path):
    small = _weights(tmp_path / "m" / "model.safetensors", 1, size=100)
    assert fp.file_identity(small) == f"sha256:{fp.sha256_file(small)}"
    assert hashed == []  # not through the cache


def test_copy_with_preserved_mtime_is_the_same_model(hashed, tmp_path):
    a = _weights(tmp_path / "a" / "model.safetensors", 7)
    b = tmp_path / "b" / "model.safetensors"
    b.parent.mkdir()
    shutil.copy2(a, b)
    assert fp.file_identity(a) == fp.file_identity(b) == f"sha256:{fp.sha256_file(a)}"
    assert fp.model_fingerprint(str(a.parent))["digest"] \
        == fp.model_fingerprint(str(b.parent))["digest"]


def test_progress_names_the_file(hashed, tmp_path, capsys):
    a = _weights(tmp_path / "model.safetensors", 3)
    fp.file_identity(a)
    err = capsys.readouterr().err
    assert f"hashing {a} ({3 * LIMIT} bytes)" in err


def test_same_size_and_mtime_other_content_is_another_model(hashed, tmp_path):
    a = _weights(tmp_path / "a" / "model.safetensors", 1)
    b = _weights(tmp_path / "b" / "model.safetensors", 2)
    st = a.stat()
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert b.stat().st_size == st.st_size and b.stat().st_mtime_ns == st.st_mtime_ns
    assert fp.file_identity(a) != fp.file_identity(b)


def test_rewritten_in_place_with_mtime_restored_is_hashed_again(hashed, tmp_path):
    a = _weights(tmp_path / "model.safetensors", 1)
    first = fp.file_identity(a)
    st = a.stat()
    a.write_bytes(bytes([9]) * st.st_size)  # same inode, same size
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fp.file_identity(a) != first
    assert hashed == [a, a]


def test_second_call_reads_the_cache(hashed, tmp_path):
    a = _weights(tmp_path / "model.safetensors", 5)
    first = fp.file_identity(a)
    assert fp.file_identity(a) == first
    assert hashed == [a]
    assert hash_cache.cache_path().is_file()


def test_corrupt_cache_is_ignored_and_rebuilt(hashed, tmp_path):
    a = _weights(tmp_path / "model.safetensors", 5)
    want = f"sha256:{fp.sha256_file(a)}"
    cache = hash_cache.cache_path()
    cache.parent.mkdir(parents=True)
    key = hash_cache._key(a.stat())
    cache.write_text('{"key": "' + key + '", "sha256": "' + "0" * 64 + '"\n'  # torn line
                     + "\x00garbage\n[1, 2]\n")
    assert fp.file_identity(a) == want
    assert fp.file_identity(a) == want
    assert hashed == [a]  # rebuilt after the first hash, read back after
    assert "garbage" not in cache.read_text()


def test_wrong_cached_shape_is_not_trusted(hashed, tmp_path):
    a = _weights(tmp_path / "model.safetensors", 5)
    cache = hash_cache.cache_path()
    cache.parent.mkdir(parents=True)
    cache.write_text('{"key": "' + hash_cache._key(a.stat()) + '", "sha256": "short"}\n')
    assert fp.file_identity(a) == f"sha256:{fp.sha256_file(a)}"


def test_old_size_mtime_records_are_named_plainly(hashed, tmp_path):
    a = _weights(tmp_path / "m" / "model.safetensors", 4)
    st = a.stat()
    new = fp.model_fingerprint(str(a.parent))
    old_files = {**new["pretrained"]["files"],
                 "model.safetensors": f"size:{st.st_size},mtime_ns:{st.st_mtime_ns}"}
    old = {"digest": fp.digest({"pretrained": old_files, "adapter": None}),
           "pretrained": {**new["pretrained"], "files": old_files}, "adapter": None}
    assert fp.changes(old, new) == [f"digest: {fp.LEGACY_NOTE}",
                                    f"pretrained.files.model.safetensors: {fp.LEGACY_NOTE}"]
    # a training run's manifest holds only the base model's digest
    run = tmp_path / "run"
    run.mkdir()
    expected = {"base_model": new["digest"], "train_size": 1}
    expected["digest"] = fp.digest(expected)
    recorded = {"base_model": old["digest"], "train_size": 1}
    (run / "manifest.json").write_text(fp.canonical_json(
        {"status": "complete", "fingerprint": {**recorded, "digest": fp.digest(recorded)}}))
    why = stale_reason(run, expected)
    assert why == f"run run was trained from other inputs (base_model: {fp.LEGACY_NOTE})"
