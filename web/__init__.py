"""Glue's web app: the v3 API, the browser UI and the API docs, as Flask blueprints."""
