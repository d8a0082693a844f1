"""The analysis pipeline: an issue becomes one trustworthy comment, in checkpointed stages.

understand → locate → related → suggest → compose → post. Each stage is a module with a
`run(run: Run) -> Output` over plain data; `runner.execute` saves each output as a checkpoint
(`bot/state/runs.py`), so a retried job resumes after the last completed stage, and a stage
that fails leaves the others to post what cleared their gates.
"""
