"""The App's own state: the state database, the runs store, the job queue and its jobs,
thread records and run telemetry.

It imports only `navbot.core` (and the package's version); the webhooks, the worker and
the CLI sit above it.
"""
