"""Year-on-year HIN checks (reports A-D of the guidance C06011 "HIN Reports"), as linking-stage rules.

Each check compares the submission with the provider's approved submission of the previous
year (``ctx.previous_submission_id``), in one set-based SELECT that PostgreSQL and SQLite both
run; see ../shared/spec/student-record.md for the table of checks. Terms:

- linked: same HUSID and NUMHUS in both years (INSTID is always the provider's own).
- closed off: RSNLEAVE and DATELEFT both present, or NOTACT present, or MODE 63/64.
- BPQ match: BIRTHDTE, POSTCODE and QUALAIM exactly equal. An empty POSTCODE (optional for
  non-UK domicile) never matches: "suggested matches can only be returned if data in all three
  fields of both records match exactly".
- Suggested matches only pair records that have no HIN link themselves: an incoming record
  without a link with a previous record without a link. A record that already links is
  accounted for; suggesting it as the partner of another would break a good link.

Between them checks 6, 7 and 8 cover every unlinked pair once from each side it concerns:

===========================  ==============================  =========================
incoming record (no link)    previous live record (no link)  previous closed record
===========================  ==============================  =========================
COMDATE before the period    HIN6 cat. 1 + HIN7g cat. 1      HIN6 cat. 2
COMDATE within the period    HIN7g cat. 2                    HIN8
no BPQ match                 HIN6 cat. 3 (if COMDATE before  HIN7h for each live
                             the period)                     previous record unmatched
===========================  ==============================  =========================

Check 7 rows are about the previous year's record: instance, student, line, HUSID and NUMHUS
are that record's; the message names the suggested incoming record. Categories go in
``field`` ("category 1") as well as in the message.
"""

from datetime import date

from collections_app.models import Severity
from collections_app.rules.registry import rule

LINKING = "linking"

# The previous submission's year label ("2022/23") and collection reference, as a one-row table.
PREVIOUS_YEAR = """
    SELECT CAST(pc.reporting_year AS VARCHAR) || '/'
           || substr(CAST(pc.reporting_year + 1 AS VARCHAR), 3, 2) AS label,
           pc.reference AS ref
    FROM collections_app_submission ps
    JOIN collections_app_collection pc ON pc.id = ps.collection_id
    WHERE ps.id = %s
"""


def closed_off(alias: str) -> str:
    """SQL truth value: the record's HIN was closed off (it need not be returned next year)."""
    return (
        f"(({alias}.rsnleave <> '' AND {alias}.dateleft IS NOT NULL) OR {alias}.notact <> '' "
        f"OR {alias}.mode IN ('63', '64'))"
    )


def bpq_match(a: str, b: str) -> str:
    return (
        f"{a}.birthdte = {b}.birthdte AND {a}.postcode = {b}.postcode AND {a}.qualaim = {b}.qualaim "
        f"AND {a}.postcode <> ''"
    )


def _level(column: str) -> str:
    return f"CASE WHEN {column} < '20' THEN 'postgraduate' ELSE 'undergraduate' END"


def _shown(expression: str) -> str:
    return f"CASE WHEN {expression} = '' THEN '(blank)' ELSE {expression} END"


def _period_start(ctx) -> str:
    return date(ctx.reporting_year, 8, 1).isoformat()


def _unlinked_records(*, closed: bool | None = None, comdate: str = "") -> str:
    """Records of submission %s (1st param) whose HIN is absent from submission %s (2nd param),
    with the student fields the checks need; `closed` filters on closed off, `comdate` is an
    extra condition on i.comdate taking one more param (the period start)."""
    conditions = ""
    if closed is True:
        conditions += f" AND {closed_off('i')}"
    elif closed is False:
        conditions += f" AND NOT {closed_off('i')}"
    if comdate:
        conditions += f" AND i.comdate {comdate} %s"
    return f"""
        SELECT i.id, i.student_id, i.line, i.husid, i.numhus, i.qualaim, i.ptitle, i.comdate,
               i.postcode, s.birthdte, CASE WHEN {closed_off("i")} THEN 1 ELSE 0 END AS closed
        FROM sr_instance i
        JOIN sr_student s ON s.id = i.student_id
        WHERE i.submission_id = %s{conditions}
          AND NOT EXISTS (
              SELECT 1 FROM sr_instance l
              WHERE l.submission_id = %s AND l.husid = i.husid AND l.numhus = i.numhus
          )
    """


def _relink(target: str, source: str) -> str:
    """SQL text: how to change the incoming record `target` so it carries the HIN of `source`
    (a previous-year record), e.g. "set NUMHUS to 1 (now 2) on HUSID 9811681234562"."""
    t, s = target, source
    return f"""(CASE
        WHEN {t}.husid = {s}.husid
            THEN 'set NUMHUS to ' || {s}.numhus || ' (now ' || {t}.numhus || ') on HUSID ' || {t}.husid
        WHEN {t}.numhus = {s}.numhus
            THEN 'set HUSID to ' || {s}.husid || ' (now ' || {t}.husid || ') on the record with NUMHUS '
                 || {t}.numhus
        ELSE 'set HUSID to ' || {s}.husid || ' and NUMHUS to ' || {s}.numhus || ' (now HUSID ' || {t}.husid
             || ', NUMHUS ' || {t}.numhus || ')'
    END || ' to restore the link to ' || {s}.ptitle || ' (' || y.label || ')')"""


# Report A: a HIN link, but the linked records disagree. ------------------------------------------


def _linked_pairs(condition: str, field: str, value: str, message: str):
    """A report A check: every linked pair (c current, p previous, cs/ps their students) where
    `condition` holds, reported on the current record."""

    def sql(ctx):
        return (
            f"""
            SELECT c.id, c.student_id, c.line, c.husid, c.numhus, '{field}', {value}, {message}
            FROM sr_instance c
            JOIN sr_instance p ON p.submission_id = %s AND p.husid = c.husid AND p.numhus = c.numhus
            JOIN sr_student cs ON cs.id = c.student_id
            JOIN sr_student ps ON ps.id = p.student_id
            CROSS JOIN ({PREVIOUS_YEAR}) y
            WHERE c.submission_id = %s AND {condition}
            """,
            [ctx.previous_submission_id, ctx.previous_submission_id, ctx.submission_id],
        )

    return sql


def _field_changed(code: str, field: str, current: str, previous: str, doc: str, *, title: str | None = None):
    """Register a report A check that fires when one field differs between linked records."""
    message = (
        f"'{field} is ' || {_shown(current)} || ' here but was ' || {_shown(previous)}"
        f" || ' for this HIN in ' || y.label || ' (' || y.ref || '). If the link is right, restore '"
        f" || {_shown(previous)} || ' or confirm the change as a data quality improvement; if this is a different"
        f" programme, give this record a new NUMHUS.'"
    )
    func = _linked_pairs(f"{current} <> {previous}", field, current, message)
    func.__doc__ = doc
    func.__name__ = f"hin_{code.lower()}"
    rule(
        code=code,
        title=title or f"HIN link, but {field} differs",
        severity=Severity.WARNING,
        stage=LINKING,
    )(func)


@rule(code="HIN1", title="HIN link, but level differs (PG/UG)", severity=Severity.WARNING, stage=LINKING)
def hin1_level_differs(ctx):
    """Report A, check 1. The record links to last year's record with the same HUSID and NUMHUS,
    but one QUALAIM is postgraduate (01-19) and the other undergraduate (20-99). Either the HIN
    link is wrong (give this record a new NUMHUS) or QUALAIM is; or confirm a data quality
    improvement if last year's QUALAIM was wrong."""
    message = (
        "'QUALAIM ' || c.qualaim || ' (' || " + _level("c.qualaim") + " || ') links to QUALAIM ' || p.qualaim"
        " || ' (' || " + _level("p.qualaim") + " || ') for this HIN in ' || y.label || ' (' || y.ref || ')."
        " If the QUALAIMs are right this is a different programme: give this record a new NUMHUS. Otherwise"
        " correct QUALAIM, or confirm the change as a data quality improvement.'"
    )
    return _linked_pairs(f"{_level('c.qualaim')} <> {_level('p.qualaim')}", "QUALAIM", "c.qualaim", message)(ctx)


@rule(code="HIN2", title="HIN link, but COMDATE is in the reporting period", severity=Severity.WARNING, stage=LINKING)
def hin2_comdate_in_period(ctx):
    """Report A, check 2. The record links to last year's record, so the student was already on
    the programme, but its COMDATE is on or after the start of the reporting period (1 August).
    Either the link is wrong (a new programme needs a new NUMHUS) or COMDATE should be the
    original one; or confirm a data quality improvement."""
    select, params = _linked_pairs(
        "c.comdate >= %s",
        "COMDATE",
        "CAST(c.comdate AS VARCHAR)",
        "'COMDATE ' || CAST(c.comdate AS VARCHAR) || ' is on or after ' || %s"
        " || ', the start of the reporting period, but this HIN was already returned in ' || y.label"
        " || ' (' || y.ref || ', COMDATE ' || CAST(p.comdate AS VARCHAR) || '). If the student started a new'"
        " || ' programme, give this record a new NUMHUS; if the link is right, restore COMDATE '"
        " || CAST(p.comdate AS VARCHAR) || ' or confirm the change as a data quality improvement.'",
    )(ctx)
    start = _period_start(ctx)
    # Params in text order: the message's period start, then the join, y, the submission, the date.
    return select, [start, *params, start]


_field_changed(
    "HIN3c",
    "QUALENT2",
    "c.qualent2",
    "p.qualent2",
    "Report A, check 3c. Linked records disagree on QUALENT2 (highest qualification on entry), which "
    "describes entry to the programme and should not change between years unless it was wrong or "
    "not known.",
)
_field_changed(
    "HIN3d",
    "POSTCODE",
    "c.postcode",
    "p.postcode",
    "Report A, check 3d. Linked records disagree on POSTCODE on entry to the programme.",
)
_field_changed(
    "HIN3h",
    "DOMICILE",
    "c.domicile",
    "p.domicile",
    "Report A, check 3h. Linked records disagree on DOMICILE on entry to the programme.",
)
_field_changed(
    "HIN3j",
    "ETHNIC",
    "cs.ethnic",
    "ps.ethnic",
    "Report A, check 3j. Linked records disagree on the student's ETHNIC code.",
)
_field_changed(
    "HIN3m",
    "YRLLINST",
    "c.yrllinst",
    "p.yrllinst",
    "Report A, check 3m. Linked records disagree on YRLLINST.",
)
_field_changed(
    "HIN3q",
    "UCASNUM",
    "cs.ucasnum",
    "ps.ucasnum",
    "Report A, check 3q. Linked records disagree on the student's UCASNUM.",
)
_field_changed(
    "HIN3u",
    "TOTALTS",
    "c.totalts",
    "p.totalts",
    "Report A, check 3u. Linked records disagree on TOTALTS (total UCAS tariff points on entry).",
)
_field_changed(
    "HIN5a",
    "BIRTHDTE",
    "CAST(cs.birthdte AS VARCHAR)",
    "CAST(ps.birthdte AS VARCHAR)",
    "Report A, check 5a. Linked records give different dates of birth: check the HIN, restore the "
    "right BIRTHDTE or confirm a data quality improvement.",
    title="HIN link, but BIRTHDTE differs",
)
_field_changed(
    "HIN5b",
    "GENDER",
    "cs.gender",
    "ps.gender",
    "Report A, check 5b. Linked records give different GENDER codes.",
)
_field_changed(
    "HIN5c",
    "SURNAME",
    "cs.surname",
    "ps.surname",
    "Report A, check 5c. Linked records give different surnames.",
)


# Report B: check 6. ----------------------------------------------------------------------------


@rule(
    code="HIN6",
    title="No HIN link for a record that began before the reporting period",
    severity=Severity.ERROR,
    stage=LINKING,
)
def hin6_no_link_continuing(ctx):
    """Report B, check 6. An incoming record whose COMDATE is before the reporting period (a
    continuing student) does not link to any record of last year. Category 1: its BIRTHDTE,
    POSTCODE and QUALAIM match a previous record that was live and has no link either (restore
    that HUSID/NUMHUS); category 2: they match a previous record that was closed off; category 3:
    no match (restore the HIN, correct COMDATE, or report the record missing from last year)."""
    start = _period_start(ctx)
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        c AS ({_unlinked_records(comdate="<")}),
        p AS ({_unlinked_records()}),
        m AS (
            SELECT c.id AS current_id, p.husid, p.numhus, p.ptitle, p.comdate, p.closed,
                   ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY p.closed, p.line, p.id) AS pick
            FROM c JOIN p ON {bpq_match("p", "c")}
        )
        SELECT c.id, c.student_id, c.line, c.husid, c.numhus,
               CASE WHEN m.current_id IS NULL THEN 'category 3'
                    WHEN m.closed = 0 THEN 'category 1' ELSE 'category 2' END,
               CASE WHEN m.current_id IS NULL THEN ''
                    ELSE 'HUSID ' || m.husid || ' NUMHUS ' || m.numhus END,
               'HUSID ' || c.husid || ' NUMHUS ' || c.numhus || ' (' || c.ptitle || ', COMDATE '
               || CAST(c.comdate AS VARCHAR) || ') began before the reporting period but links to no record of '
               || y.label || ' (' || y.ref || '). '
               || CASE WHEN m.current_id IS NULL THEN
                      'Category 3: no ' || y.label || ' record matches its BIRTHDTE, POSTCODE and QUALAIM. If the '
                      || 'student continued from ' || y.label || ', restore the HUSID and NUMHUS returned then; '
                      || 'if they started this year, correct COMDATE; otherwise report the record missing from '
                      || 'the ' || y.label || ' submission.'
                  ELSE
                      'Category ' || CASE WHEN m.closed = 0 THEN '1' ELSE '2' END
                      || ': BIRTHDTE, POSTCODE and QUALAIM match HUSID ' || m.husid || ' NUMHUS ' || m.numhus
                      || ' (' || m.ptitle || ', COMDATE ' || CAST(m.comdate AS VARCHAR) || '), which was '
                      || CASE WHEN m.closed = 0 THEN 'live' ELSE 'closed off' END || ' in ' || y.label
                      || '. If it is the same programme, '
                      || {_relink("c", "m")}
                      || CASE WHEN c.comdate <> m.comdate
                              THEN ', and restore COMDATE ' || CAST(m.comdate AS VARCHAR) ELSE '' END
                      || '. If not, correct COMDATE if the student started this year, or report the record '
                      || 'missing from the ' || y.label || ' submission.'
                  END
        FROM c
        LEFT JOIN m ON m.current_id = c.id AND m.pick = 1
        CROSS JOIN y
    """
    prev, cur = ctx.previous_submission_id, ctx.submission_id
    return sql, [prev, cur, start, prev, prev, cur]


# Report C: check 7. ----------------------------------------------------------------------------


def _live_previous_without_record() -> str:
    """Previous-year records (1st param) that were live and whose HIN has no record in the
    current submission (2nd param)."""
    return _unlinked_records(closed=False)


@rule(
    code="HIN7g",
    title="Live HIN of last year has no record; matched by BIRTHDTE/POSTCODE/QUALAIM",
    severity=Severity.ERROR,
    stage=LINKING,
)
def hin7g_live_hin_matched(ctx):
    """Report C, check 7g. A HIN that was live last year (on last year's HIN target list) has no
    record this year, but an incoming record without a HIN link matches it on BIRTHDTE, POSTCODE
    and QUALAIM. Category 1: that record's COMDATE is before the reporting period; category 2: it
    is within the period. Reported on last year's record; restore its HUSID/NUMHUS on the incoming
    record, or return the right data for both."""
    start = _period_start(ctx)
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        p AS ({_live_previous_without_record()}),
        c AS ({_unlinked_records()}),
        m AS (
            SELECT p.id AS previous_id, c.husid, c.numhus, c.ptitle, c.comdate, c.line,
                   CASE WHEN c.comdate < %s THEN 1 ELSE 2 END AS category,
                   ROW_NUMBER() OVER (
                       PARTITION BY p.id ORDER BY CASE WHEN c.comdate < %s THEN 1 ELSE 2 END, c.line, c.id
                   ) AS pick
            FROM p JOIN c ON {bpq_match("c", "p")}
        )
        SELECT p.id, p.student_id, p.line, p.husid, p.numhus,
               'category ' || CAST(m.category AS VARCHAR),
               'HUSID ' || m.husid || ' NUMHUS ' || m.numhus,
               'HUSID ' || p.husid || ' NUMHUS ' || p.numhus || ' (' || p.ptitle || ') was live in ' || y.label
               || ' (' || y.ref || ') but no record in this submission has that HIN. Category '
               || CAST(m.category AS VARCHAR) || ': BIRTHDTE, POSTCODE and QUALAIM match incoming HUSID '
               || m.husid || ' NUMHUS ' || m.numhus || ' (' || m.ptitle || ', line ' || CAST(m.line AS VARCHAR)
               || ', COMDATE ' || CAST(m.comdate AS VARCHAR)
               || CASE WHEN m.category = 2 THEN ', within the reporting period' ELSE '' END
               || '). If it is the same programme, ' || {_relink("m", "p")}
               || CASE WHEN m.comdate <> p.comdate
                       THEN ', and restore COMDATE ' || CAST(p.comdate AS VARCHAR) ELSE '' END
               || '. If not, return a record for this HIN too: an active one, or a dormant one (MODE 63/64).'
        FROM p
        JOIN m ON m.previous_id = p.id AND m.pick = 1
        CROSS JOIN y
    """
    prev, cur = ctx.previous_submission_id, ctx.submission_id
    return sql, [prev, prev, cur, cur, prev, start, start]


@rule(code="HIN7h", title="Live HIN of last year has no record and no match", severity=Severity.ERROR, stage=LINKING)
def hin7h_live_hin_missing(ctx):
    """Report C, check 7h. A HIN that was live last year has no record this year and no incoming
    record without a link matches it on BIRTHDTE, POSTCODE and QUALAIM. Restore the HUSID/NUMHUS
    on the record that continues it, or submit the missing record (active, or dormant with MODE
    63/64), reporting any qualification obtained. Reported on last year's record."""
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        p AS ({_live_previous_without_record()}),
        c AS ({_unlinked_records()})
        SELECT p.id, p.student_id, p.line, p.husid, p.numhus, 'HIN', p.husid || ' ' || p.numhus,
               'HUSID ' || p.husid || ' NUMHUS ' || p.numhus || ' (' || p.ptitle || ', COMDATE '
               || CAST(p.comdate AS VARCHAR) || ') was live in ' || y.label || ' (' || y.ref
               || ') but no record in this submission has that HIN, and none matches its BIRTHDTE, POSTCODE and '
               || 'QUALAIM. Return a record with HUSID ' || p.husid || ' and NUMHUS ' || p.numhus
               || ': an active one if the student continued, or a dormant one (MODE 63/64) if not; or restore '
               || 'this HUSID and NUMHUS on the record that continues it.'
        FROM p
        CROSS JOIN y
        WHERE NOT EXISTS (SELECT 1 FROM c WHERE {bpq_match("c", "p")})
    """
    prev, cur = ctx.previous_submission_id, ctx.submission_id
    return sql, [prev, prev, cur, cur, prev]


# Report D: check 8. ----------------------------------------------------------------------------


@rule(code="HIN8", title="Possible link based on BIRTHDTE/POSTCODE/QUALAIM", severity=Severity.WARNING, stage=LINKING)
def hin8_possible_link(ctx):
    """Report D, check 8. An incoming record without a HIN link that began in the reporting period
    matches, on BIRTHDTE, POSTCODE and QUALAIM, a record of last year that was closed off: one
    instance closed and another opened for what looks like the same programme. If they are the
    same programme, restore the old HUSID/NUMHUS. (An incoming record that began before the
    period is already reported by check 6, category 2.)"""
    start = _period_start(ctx)
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        c AS ({_unlinked_records(comdate=">=")}),
        p AS ({_unlinked_records(closed=True)}),
        m AS (
            SELECT c.id AS current_id, p.husid, p.numhus, p.ptitle, p.comdate,
                   ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY p.line, p.id) AS pick
            FROM c JOIN p ON {bpq_match("p", "c")}
        )
        SELECT c.id, c.student_id, c.line, c.husid, c.numhus, 'HIN', 'HUSID ' || m.husid || ' NUMHUS ' || m.numhus,
               'HUSID ' || c.husid || ' NUMHUS ' || c.numhus || ' (' || c.ptitle || ', COMDATE '
               || CAST(c.comdate AS VARCHAR) || ') links to no record of ' || y.label || ' (' || y.ref
               || '), but BIRTHDTE, POSTCODE and QUALAIM match HUSID ' || m.husid || ' NUMHUS ' || m.numhus
               || ' (' || m.ptitle || ', COMDATE ' || CAST(m.comdate AS VARCHAR) || '), closed off in ' || y.label
               || '. If the student is continuing the same programme, ' || {_relink("c", "m")}
               || ' and restore COMDATE ' || CAST(m.comdate AS VARCHAR)
               || '; if this is a new programme, confirm it.'
        FROM c
        JOIN m ON m.current_id = c.id AND m.pick = 1
        CROSS JOIN y
    """
    prev, cur = ctx.previous_submission_id, ctx.submission_id
    return sql, [prev, cur, start, prev, prev, cur]
