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
def paused_gc(freeze: bool = False) -> Iterator[None]:
    """Disable the cyclic collector for the block, unless an outer block already did.

    Everything allocated in the block is young when the collector resumes, so its first
    pass walks all of it (a third of a second on sympy). A short-lived command about to
    exit passes `freeze` to skip that: what survives the block is moved out of the
    collector's sight (`gc.freeze`) instead. A long-lived worker must not, since cycles
    among frozen objects would never be freed.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        gc.enable()


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate `function` to run with the cyclic collector paused."""
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)
    return wrapper
