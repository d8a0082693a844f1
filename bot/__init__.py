"""The agent: from a job to one comment on GitHub.

Owns the GitHub edge (`github`, `github_http`, `clone`, `ingest`), the decisions on when to
analyse and how to post (`decide`), the comment's text (`comment`, `sanitize`, `links`),
the checkpointed pipeline (`pipeline/`), the App's own state (`state/`) and the composition
root that runs jobs (`worker`). `tests/test_layers.py` says which of these may import which.
"""
