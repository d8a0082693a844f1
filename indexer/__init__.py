"""The indexer: a git repository at a commit becomes a knowledge graph of code and history."""
