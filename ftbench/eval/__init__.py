"""One invocation over every model of a study: lm-eval underneath, resumable, fault-isolated."""
