"""The bottom layer: files and output ownership, fingerprints, run manifests, model sources and
context, CPU threads, and `lm_eval_glue` — the one module that imports lm-eval."""
