"""navbot: an issue bot that points maintainers at the code that matters."""

__version__ = "0.1.0"
