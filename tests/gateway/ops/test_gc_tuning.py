"""A serving process freezes what start-up built and collects young objects less often."""

from __future__ import annotations

import gc

from gateway.ops.gc_tuning import THRESHOLDS, tune_for_serving


def test_tuning_freezes_start_up_objects_and_sets_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_for_serving()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
