"""Per-repository calibration: a repository's past fixes replayed to choose its threshold.

- `examples`: past fixes from the index (issue, fix commit, gold files) and their windows.
- `replay`: each window asked against the code before its fixes, and the off-topic corpus.
- `thresholds`: the risk-coverage table and the threshold it supports.
- `stored`: the `calibration.json` beside the index, which the worker reads.
"""
