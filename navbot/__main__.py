"""`python -m navbot` runs the CLI."""

from navbot.cli.main import main

# Guarded: parse workers are spawned and re-import the main module.
if __name__ == "__main__":
    main()
