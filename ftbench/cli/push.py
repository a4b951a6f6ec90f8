"""`ftbench push RUN_OR_REPORT --repo ID`: a trained run's model folder (card + weights) or a
report folder to the Hugging Face Hub, with `huggingface_hub.upload_folder`.

Why only these two: they are what ftbench writes for others to read — a run's `merged/` (or
`adapter/`) folder already carries a Hub model card (ftbench.train.model_card), a report folder
is a self-contained page with its tables. Everything is checked before any network call; an
offline machine (`HF_HUB_OFFLINE`) or an unreachable hub is one line, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

from ftbench.core.hub import offline
from ftbench.core.io import InputError
from ftbench.core.outputs import MARK_DIR, owner
from ftbench.report.output_dir import KIND as REPORT_KIND

RUN_KIND = "ftbench-train-run"  # the `kind` of a run's manifest.json (ftbench.train.run)


def what_to_push(source: Path, adapter: bool = False) -> tuple[Path, str, str]:
    """(folder to upload, repo type, what it is) for a run directory or a report folder."""
    if not source.is_dir():
        raise InputError(f"{source}: not a directory (give a training run's directory or a "
                         "report folder)")
    if (owner(source) or {}).get("kind") == REPORT_KIND:
        return source, "dataset", "report"
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if manifest.get("kind") != RUN_KIND:
        raise InputError(f"{source}: neither a training run (manifest.json of kind {RUN_KIND}) "
                         "nor a report folder")
    if manifest.get("status") != "complete":
        raise InputError(f"{source}/manifest.json: key 'status' is {manifest.get('status')!r}; "
                         "only a complete run is pushed")
    folder = source / ("adapter" if adapter else "merged")
    if not (folder / "README.md").is_file():
        raise InputError(f"{folder}: no model folder with a card here"
                         + ("" if adapter else " (a full fine-tune has no adapter/)"))
    return folder, "model", f"run {manifest.get('run', source.name)} ({folder.name}/)"


def push(source: Path, repo: str, adapter: bool = False, private: bool = False) -> str:
    """Upload; the URL of the commit."""
    folder, repo_type, what = what_to_push(source, adapter)
    if offline():
        raise InputError(f"push {what}: the Hugging Face Hub is offline here (HF_HUB_OFFLINE "
                         "is set); nothing was uploaded")
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo, repo_type=repo_type, private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type=repo_type,
                                 ignore_patterns=[f"{MARK_DIR}/*", ".*"],
                                 commit_message=f"ftbench push: {what}")
    except Exception as exc:  # no network, no token, refused (httpx or hub errors): one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"push {what} to {repo}: {first}") from None
    return str(getattr(info, "commit_url", info))
