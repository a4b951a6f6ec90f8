"""Raw-article validation and preparation of task rows (test split + nested train splits)."""
