"""Built-in tasks beyond classification: each a factory returning a netadapt.Task."""
