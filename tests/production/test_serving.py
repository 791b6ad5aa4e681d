"""Gunicorn's worker, once it has loaded the app, moves what lives as long as it out of the garbage
collector's sight (crm/serving.py): full collections no longer walk the whole app in a request."""

from __future__ import annotations

import gc

from crm import serving


def test_a_worker_freezes_what_it_loaded_once_the_app_is_loaded(app):
    assert gc.get_freeze_count() == 0
    try:
        serving.post_worker_init(worker=None)
        # The app, its mappers and compiled statements: tens of thousands of objects at the least.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
