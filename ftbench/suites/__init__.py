"""Evaluation suites: each domain's data preparation, prompts (read from its task YAML) and
report vocabulary. `bmw` (the BMW PressClub tasks), `glue` (GLUE-small), `general`
(evaluation-only general skills)."""
