"""Command-line entry points: `ftbench` (main), `ftbench train`, `ftbench glue`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from ftbench.cli.main import main as _main

    return _main(argv)
