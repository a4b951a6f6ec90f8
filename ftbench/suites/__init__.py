"""Evaluation suites: each domain's data preparation, prompts (read from its task YAML) and
report vocabulary, behind one interface (`base.Suite`).

`base` (Suite, DataSource, ReportVocab), `layout` (the shared prepared layout: test.jsonl, nested
train_N.jsonl, manifest.json), `prompts` (task YAML → chat prompts), `registry` (built-in suites
and suite modules loaded from a file), `sources` (each suite's evaluation data, hashed); the
domains: `bmw` (the BMW PressClub tasks), `glue` (GLUE-small), `general` (evaluation-only
general skills).
"""
