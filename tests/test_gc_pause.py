"""The collector pause: off inside, restored after, and nested pauses leave it to the outer."""

from __future__ import annotations

import gc

import pytest

from navbot.core.gc_pause import paused_gc, without_gc


def test_pause_disables_and_restores_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pause_keeps_the_outer_one() -> None:
    @without_gc
    def inner() -> bool:
        return gc.isenabled()

    with paused_gc():
        assert inner() is False
        assert not gc.isenabled()  # the inner exit did not resume it early
    assert gc.isenabled()
    assert inner() is False
    assert gc.isenabled()
