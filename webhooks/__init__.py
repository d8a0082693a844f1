"""The GitHub App's webhook receiver: verify, deduplicate, enqueue (later issue)."""
