#!/usr/bin/env python
"""Build the embedded tiny Llama model: a thin entry over `ftbench tiny-model`.

    python scripts/build_tiny_model.py --out work/tiny-llama [--steps 300] [--seed 0]
"""

import sys

from ftbench.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["tiny-model", *sys.argv[1:]]))
