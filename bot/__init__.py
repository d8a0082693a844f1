"""The analysis agent: a checkpointed pipeline from an issue to one comment (later issue)."""
