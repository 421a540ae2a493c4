"""The garbage collector during an event loop (falcoplug.framework.heap)."""

from __future__ import annotations

import gc

from falcoplug.framework.heap import YOUNG_THRESHOLD, event_loop_heap, stepped


def test_the_heap_before_a_loop_is_frozen_and_everything_is_restored_after():
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    kept = [object() for _ in range(10)]
    with event_loop_heap():
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen  # what existed before the loop is out of the collector's sight
        with event_loop_heap(young=50_000):  # a nested loop keeps the outer settings
            assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
    assert len(kept) == 10


def test_a_loop_that_raises_restores_the_collector():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        with event_loop_heap():
            raise RuntimeError("plugin failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


def test_a_collector_turned_off_stays_off():
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with event_loop_heap():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_a_stepped_generator_runs_tuned_and_its_caller_does_not():
    before = gc.get_threshold()
    seen = []

    def loop():
        for n in range(3):
            seen.append(gc.get_threshold()[0])
            yield n

    for n in stepped(loop()):
        assert gc.get_threshold() == before  # the caller's code between two items
    assert seen == [max(YOUNG_THRESHOLD, before[0])] * 3 and n == 2


def test_cycles_made_during_a_loop_are_still_collected():
    freed = []

    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

        def __del__(self) -> None:
            freed.append(1)

    with event_loop_heap():
        for _ in range(2 * YOUNG_THRESHOLD):
            Node()
        assert len(freed) >= YOUNG_THRESHOLD // 2  # collected within the loop, not piled up until its end
