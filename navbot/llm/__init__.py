"""The LLM edge: the client, its recorded calls and budgets, the prompts, parsing replies.

Shared by the agent (`bot/`) and index-time question writing (`retrieval/`), so it lives
beside the settings and errors both already use.
"""
