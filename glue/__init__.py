"""Glue's composition root: the CLI, the schema registry and the worker wiring."""
