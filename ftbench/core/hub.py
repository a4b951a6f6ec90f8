"""Hugging Face hub ids → the commit they name, so that a hub model's identity never depends on
what the local cache happens to hold.

Why: a hub base used to be identified by the files of its cached snapshot. Before the first
download there were none, after training there were, and a study on hub models stopped after its
training stage as "trained from other inputs". A commit sha is what a hub id and a revision
(branch, tag or sha) really point at: the same before and after the download, and different
exactly when upstream pushed a new commit.

How a commit is found: a 40-hex revision is the commit itself; online, the hub's API says which
commit the revision points at (`HfApi.model_info`); offline (`HF_HUB_OFFLINE`) or when the hub
cannot be reached, the cache's `refs/<revision>` file — the commit the last download resolved (the
layout `huggingface_hub` writes: `models--org--name/{refs,snapshots/<commit>,blobs}`). An online
answer is kept for the rest of the process, so every stage of one invocation (training, merging,
evaluating) loads the same commit even if upstream moves meanwhile; each stage loads it by
`revision=<commit>`.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from ftbench.core.io import InputError, error_line

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_REVISION = "main"


def looks_like_path(ref: str) -> bool:
    """A reference that can only be a filesystem path (a hub id is `name` or `org/name`)."""
    return (ref.startswith(("/", "./", "../", "~")) or ref.endswith(("/", ".gguf"))
            or os.sep in ref.replace("/", "", 1) or not _HUB_ID.match(ref))


def is_hub_id(ref: str) -> bool:
    """A model reference that names a hub repository (not an existing local path)."""
    return not looks_like_path(ref) and not Path(ref).expanduser().exists()


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def is_commit(revision: str | None) -> bool:
    return bool(revision) and _COMMIT.match(revision) is not None


def cache_dir() -> Path:
    """The hub cache huggingface_hub (and so transformers, peft, vLLM) reads and writes."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_cache(repo_id: str) -> Path:
    """`<cache>/models--org--name`: huggingface_hub's folder for a model repository."""
    return cache_dir() / ("models--" + repo_id.replace("/", "--"))


def cached_commit(repo_id: str, revision: str | None = None) -> str | None:
    """The commit the cache's `refs/<revision>` names (what the last download resolved)."""
    revision = revision or DEFAULT_REVISION
    if is_commit(revision):
        return revision if (repo_cache(repo_id) / "snapshots" / revision).is_dir() else None
    try:
        commit = (repo_cache(repo_id) / "refs" / revision).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return commit if is_commit(commit) else None


def snapshot_dir(repo_id: str, commit: str) -> Path | None:
    """The cached snapshot of `commit`, or None when nothing of it was downloaded yet."""
    path = repo_cache(repo_id) / "snapshots" / commit
    return path if path.is_dir() else None


@cache
def _remote_commit(repo_id: str, revision: str) -> str:
    """Ask the hub (once per process: the invocation stays on the commit it saw first)."""
    from huggingface_hub import HfApi

    sha = HfApi().model_info(repo_id, revision=revision).sha
    if not is_commit(sha or ""):
        raise ValueError(f"the hub returned no commit for {repo_id}@{revision}")
    return sha


def resolve_commit(repo_id: str, revision: str | None = None, where: str = "model") -> str:
    """The commit `repo_id`@`revision` points at now; InputError (one line, naming `where`) when
    neither the hub nor the cache can say."""
    revision = revision or DEFAULT_REVISION
    if is_commit(revision):
        return revision
    reason = "HF_HUB_OFFLINE is set"
    if not offline():
        try:
            return _remote_commit(repo_id, revision)
        except Exception as exc:  # unreachable, unknown repo or revision, no access
            reason = error_line(exc)
            if _definitive(exc):
                raise InputError(f"{where}: hub model {repo_id!r} at revision {revision!r}: "
                                 f"{reason}") from None
    commit = cached_commit(repo_id, revision)
    if commit is None:
        raise InputError(f"{where}: hub model {repo_id!r} at revision {revision!r} is not in the "
                         f"Hugging Face cache ({repo_cache(repo_id)}) and the hub cannot be "
                         f"asked ({reason}); download it once online, or give a local path")
    return commit


def _definitive(exc: Exception) -> bool:
    """The hub answered, and the answer is no (wrong id, revision or access), as opposed to a
    network failure after which the cache may still know the commit."""
    name = type(exc).__name__
    return name in ("RepositoryNotFoundError", "RevisionNotFoundError", "GatedRepoError")


def datasets_offline() -> bool:
    """Whether `datasets` may not ask the hub (either of the variables it reads)."""
    return offline() or os.environ.get("HF_DATASETS_OFFLINE", "").strip().lower() in (
        "1", "true", "yes", "on")


def check_hub_dataset(path: str, name: str | None, where: str) -> None:
    """Offline, a hub dataset must be in the `datasets` cache now (its builder loads from it),
    not found missing after hours of training; online nothing is asked here."""
    if not datasets_offline():
        return
    import datasets

    try:
        datasets.load_dataset_builder(path, name)
    except (ConnectionError, FileNotFoundError, ValueError) as exc:
        label = f"{path!r}" + (f" (config {name!r})" if name else "")
        raise InputError(f"{where}: hub dataset {label} is not in the Hugging Face cache and the "
                         f"hub cannot be asked (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set: "
                         f"{error_line(exc)}); download it once online, or give local "
                         "files") from None
