"""Counts over a completed run's rows are kept per run (collections_app.selectors.settled): a search
of the failures is counted once while someone pages through its results, and counted again when
the rows could have changed (a processing run still going, a re-run, records archived)."""

from datetime import timedelta

from django.utils import timezone

from collections_app.selectors import settled

from ..review_helpers import make_submission


def counter():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    return compute, calls


def test_a_completed_run_is_counted_once(provider, collection):
    submission = make_submission(provider, collection, finished_at=timezone.now())
    compute, calls = counter()
    assert [settled(submission, "search:Smith", compute) for _ in range(3)] == [1, 1, 1]
    assert len(calls) == 1
    # Another search is another count.
    assert settled(submission, "search:Jones", compute) == 2


def test_a_run_in_flight_is_counted_every_time(provider, collection):
    submission = make_submission(provider, collection, status="processing", finished_at=None)
    compute, calls = counter()
    assert [settled(submission, "search:Smith", compute) for _ in range(2)] == [1, 2]


def test_a_re_run_or_archived_records_count_again(provider, collection):
    submission = make_submission(provider, collection, finished_at=timezone.now())
    compute, _ = counter()
    assert settled(submission, "search:Smith", compute) == 1
    submission.finished_at += timedelta(minutes=5)  # a re-run finished later
    assert settled(submission, "search:Smith", compute) == 2
    submission.records_archived_at = timezone.now()
    assert settled(submission, "search:Smith", compute) == 3


def test_a_long_search_still_makes_a_short_key(provider, collection):
    submission = make_submission(provider, collection, finished_at=timezone.now())
    compute, calls = counter()
    long = "search:" + "x" * 500
    assert settled(submission, long, compute) == settled(submission, long, compute) == 1
    assert settled(submission, long + "y", compute) == 2


def test_a_search_with_spaces_or_symbols_makes_a_key_every_cache_takes(provider, collection, recwarn):
    """Django warns of (and memcached refuses) keys with spaces or control characters."""
    submission = make_submission(provider, collection, finished_at=timezone.now())
    compute, calls = counter()
    for search in ("John Smith", "tab\there", "O'Brien & co", "Zoë"):
        assert settled(submission, f"search:{search}", compute) == settled(submission, f"search:{search}", compute)
    assert len(calls) == 4
    assert not [w for w in recwarn if "CacheKeyWarning" in type(w.message).__name__]
