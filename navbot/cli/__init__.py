"""The admin CLI `navbot`, at the top of every layer: one module per command group, each
building what it needs from `Settings` and turning `NavbotError` into one-line messages.

- `main`: the group, `index`, `show`, `ask`, `eval`; `app`: `serve`, `worker`, `status`;
  `runs`: `runs`, `trace`; `calibrate`: `calibrate`; `serving`: the web and worker processes
  `serve` supervises; `progress`: the progress bars of the long commands.
"""
