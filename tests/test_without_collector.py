"""`without_collector`: the cyclic garbage collector is off while a command builds its answer,
and as it was before once the answer is built, or the building failed."""

from __future__ import annotations

import gc

import pytest

from outreach.cli.common import without_collector


@pytest.fixture
def collector_restored():
    was_on = gc.isenabled()
    yield
    (gc.enable if was_on else gc.disable)()


def test_off_while_building_and_on_again_after(collector_restored):
    gc.enable()
    assert without_collector(gc.isenabled) is False
    assert gc.isenabled()


def test_on_again_when_the_building_fails(collector_restored):
    gc.enable()

    def fail():
        raise ValueError("broken store")

    with pytest.raises(ValueError, match="broken store"):
        without_collector(fail)
    assert gc.isenabled()


def test_left_off_when_it_was_off(collector_restored):
    gc.disable()
    assert without_collector(lambda: 42) == 42
    assert not gc.isenabled()
