"""Pause Python's cyclic garbage collector while an index or a search is built.

Building allocates millions of small tuples, lists and dicts that live on, and the cyclic
collector rescans that growing heap again and again: on sympy it was a third of an
incremental `navbot index` (4 of 12 seconds). What is built holds no reference cycles worth
collecting early, so the collector is paused for the build and resumed after; reference
counting still frees everything else at once.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block, unless an outer block already did."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate `function` to run with the cyclic collector paused."""
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)
    return wrapper
