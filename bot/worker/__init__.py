"""The worker: the agent's composition root, which runs each queued job by name, with ids.

`base` holds what every job shares (settings, state, GitHub, runs, locks, loaded searches),
`issues` the analysis of one issue, and `jobs` the `Worker` that dispatches them all.
"""

from bot.worker.jobs import Worker

__all__ = ["Worker"]
