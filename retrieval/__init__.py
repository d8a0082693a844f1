"""Retrieval: from an issue's text to ranked files and symbols with evidence (later issue)."""
