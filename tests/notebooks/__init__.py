"""papermill on a real kernel: the analyst notebooks and `pipeline validate`."""
