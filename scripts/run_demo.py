#!/usr/bin/env python
"""The offline CPU demo: a thin entry over `ftbench demo` (= `ftbench study configs/demo.yaml`).

    python scripts/run_demo.py [key=value ...]      # e.g. eval.limit=4
"""

import sys

from ftbench.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
