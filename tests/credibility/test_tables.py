"""Each credibility table against hand-counted files (tests/credibility/fixtures.py):

previous year (2022/23): 200 UG (QUALAIM 21) full-time (MODE 01) UK (XF) entrants, F, ETHNIC 10;
    20 PG (05) part-time (31) EU (FR) continuing leavers (RSNLEAVE 01), M, ETHNIC 15.
this year (2023/24): the same 220 UG students, continuing (COMDATE 2022); 25 PG dormant (64)
    overseas (US) entrants, X, ETHNIC 99; 5 PG part-time (31) not known (ZZ) entrants, leavers
    (RSNLEAVE 03), M, ETHNIC 15.
"""

from decimal import Decimal

import pytest

from collections_app.models import RuleResult
from credibility.models import CredibilityCell
from credibility.selectors import Threshold, credibility_report, is_flagged

from ..xmlbuild import student_record
from .fixtures import CURRENT_RECID, approve, current_students, process


def cells(submission):
    return {
        (c.table, c.category): (c.count, c.previous_count, c.flagged)
        for c in CredibilityCell.objects.filter(submission=submission)
    }


def table(submission, key):
    return {cat: v for (t, cat), v in cells(submission).items() if t == key}


def test_level(two_years):
    # UG 220 against 200: +20, exactly 10%: not flagged. PG 30 against 20: +50% but only 10 records.
    assert table(two_years[1], "level") == {"PG": (30, 20, False), "UG": (220, 200, False)}


def test_mode_a_category_last_year_had_none_of(two_years):
    # Dormant: none last year, 25 now: flagged (any percentage, and 20 or more records).
    assert table(two_years[1], "mode") == {"FT": (220, 200, False), "PT": (5, 20, False), "DORMANT": (25, 0, True)}


def test_qualaim(two_years):
    assert table(two_years[1], "qualaim") == {"05": (30, 20, False), "21": (220, 200, False)}


def test_entrants_use_each_years_reporting_period(two_years):
    # Last year's 200 UG were entrants of 2022/23; this year they continue. 30 PG entrants now.
    assert table(two_years[1], "entrants") == {"PG": (30, 0, True), "UG": (0, 200, True)}
    assert table(two_years[0], "entrants") == {"PG": (0, None, False), "UG": (200, None, False)}


def test_leavers(two_years):
    assert table(two_years[1], "leavers") == {"01": (0, 20, True), "03": (5, 0, False)}


def test_domicile_groups(two_years):
    assert table(two_years[1], "domicile") == {
        "1": (220, 200, False),  # UK
        "2": (0, 20, True),  # EU: all 20 gone
        "3": (25, 0, True),  # overseas
        "4": (5, 0, False),  # not known (ZZ)
    }


def test_gender_and_ethnic(two_years):
    assert table(two_years[1], "gender") == {
        "F": (220, 200, False),
        "M": (5, 20, False),
        "X": (25, 0, True),
        "9": (0, 0, False),
    }
    assert table(two_years[1], "ethnic") == {"10": (220, 200, False), "15": (5, 20, False), "99": (25, 0, True)}


def test_the_report_counts_flags_and_the_verdict_message_says_so(two_years):
    current = two_years[1]
    report = credibility_report(submission=current)
    assert report.flagged == 8
    assert report.previous == two_years[0]
    assert "8 credibility figures moved beyond the threshold." in current.stage_message
    level = next(t for t in report.tables if t.key == "level")
    ug = next(c for c in level.cells if c.category == "UG")
    assert (ug.change, ug.change_percent) == (20, Decimal("10.0"))
    assert ug.approved_count is None  # nothing approved this year yet


def test_one_more_record_past_exactly_ten_percent_is_flagged(provider, provider_user, years, two_years):
    again = process(provider, provider_user, years[1], student_record(*current_students(ug=221), recid=CURRENT_RECID))
    assert table(again, "level")["UG"] == (221, 200, True)


def test_beside_this_years_approved_submission(provider, provider_user, years, two_years):
    approve(two_years[1])
    again = process(provider, provider_user, years[1], student_record(*current_students(ug=210), recid=CURRENT_RECID))
    ug = CredibilityCell.objects.get(submission=again, table="level", category="UG")
    assert (ug.count, ug.previous_count, ug.approved_count) == (210, 200, 220)


def test_a_rerun_of_the_stage_leaves_one_set_of_cells(two_years):
    from credibility.services import submission_credibility

    before = cells(two_years[1])
    submission_credibility(submission=two_years[1])
    assert cells(two_years[1]) == before
    assert CredibilityCell.objects.filter(submission=two_years[1]).count() == len(before)


def test_without_previous_year_nothing_is_flagged(provider, provider_user, years):
    alone = process(provider, provider_user, years[1], student_record(*current_students(), recid=CURRENT_RECID))
    assert all(not flagged and previous is None for _, previous, flagged in cells(alone).values())
    assert RuleResult.objects.filter(submission=alone).exists()


@pytest.mark.parametrize(
    ("count", "previous", "flagged"),
    [
        (220, 200, False),  # exactly 10%, 20 records
        (221, 200, True),
        (180, 200, False),  # exactly -10%
        (179, 200, True),
        (19, 0, False),  # from none, but under 20 records
        (20, 0, True),
        (0, 20, True),
        (130, 100, True),  # 30%, 30 records
        (115, 100, False),  # 15% but 15 records
        (5, None, False),  # no previous year
    ],
)
def test_the_default_threshold(count, previous, flagged):
    assert is_flagged(count, previous, Threshold()) is flagged


def test_a_threshold_of_other_figures():
    assert is_flagged(105, 100, Threshold(percent=Decimal("4.99"), min_records=5))
    assert not is_flagged(105, 100, Threshold(percent=Decimal("5"), min_records=5))
