"""Evaluation suites: each domain's data preparation, prompts (read from its task YAML) and
report vocabulary, behind one interface (`base.Suite`).

`base` (Suite, DataSource, ReportVocab, TaskKind), `layout` (the shared prepared layout:
test.jsonl, nested train_N.jsonl, manifest.json), `prompts` (task YAML → chat prompts),
`registry` (the built-in suites and suite modules loaded from a file), `sources` (each suite's
evaluation data, hashed). The domain packages below this folder sit *above* the framework: only
the registry names them; every other module asks it.
"""
