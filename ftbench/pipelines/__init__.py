"""`ftbench study`: data → training grid → one-invocation evaluation → report, from one config."""
