"""The production web server's settings (portal/gunicorn_conf.py)."""

import gc

import pytest

from portal import gunicorn_conf


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_threaded_workers_so_a_download_holds_a_thread_not_a_worker():
    assert gunicorn_conf.worker_class == "gthread" and gunicorn_conf.threads > 1


def test_a_worker_leaves_the_apps_objects_out_of_full_garbage_collections(unfrozen):
    assert gc.get_freeze_count() == 0
    gunicorn_conf.post_worker_init(worker=None)
    # The models, views and URL patterns are loaded and frozen: full passes no longer scan them.
    assert gc.get_freeze_count() > 50_000
