"""Gunicorn's worker, once it has loaded the app, moves what lives as long as it out of the garbage
collector's sight (crm/serving.py): full collections no longer walk the whole app in a request; and the
youngest generation is collected only once many more objects than a page holds have been made."""

from __future__ import annotations

import gc

from crm import serving


def test_a_worker_freezes_what_it_loaded_once_the_app_is_loaded(app):
    assert gc.get_freeze_count() == 0
    threshold = gc.get_threshold()
    try:
        serving.post_worker_init(worker=None)
        # The app, its mappers and compiled statements: tens of thousands of objects at the least.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (serving.YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert gc.get_freeze_count() == 0
