"""Retrieval: from an issue's text to ranked files and symbols, each with its evidence.

Owns the search built over an index (`search_index`, `searcher`, `persist`), the signals
(lexical, dense questions in chroma, mentions, history, graph neighbours), their fusion,
the confidence and aboutness models and the posting gate, and per-repository calibration
(`calibration/`). Imports only `indexer`, `navbot.llm` and `navbot.core`.
"""
