"""Within-submission quality rules for the Student record (../shared/spec/student-record.md).

Each rule is one SELECT over the submission's rows in sr_student / sr_instance, written in
SQL that PostgreSQL and SQLite both run. Columns: see registry.FAILURE_COLUMNS.
"""

from functools import partial

from collections_app.models import CollectionKind, Severity
from collections_app.rules import registry

rule = partial(registry.rule, record_kind=CollectionKind.STUDENT_RECORD)

NO_ID = "CAST(NULL AS BIGINT)"
HUSID_WEIGHTS = (1, 3, 7, 9) * 3


def _husid_weighted_sum(column: str) -> str:
    return " + ".join(
        f"{weight} * CAST(substr({column}, {position}, 1) AS INTEGER)"
        for position, weight in enumerate(HUSID_WEIGHTS, start=1)
    )


@rule(code="SR.HUSID.01", title="HUSID check digit is wrong", severity=Severity.ERROR, applies_to="student")
def husid_check_digit(ctx):
    """The 13th digit of HUSID must equal (10 - (S mod 10)) mod 10, where S is the sum of the
    first 12 digits weighted 1, 3, 7, 9, 1, 3, 7, 9, ... (9811681234562 is valid: S = 208)."""
    return (
        f"""
        SELECT {NO_ID}, s.id, s.line, s.husid, '', 'HUSID', s.husid,
               'HUSID ' || s.husid || ' fails its check digit: the 13th digit should be '
               || CAST(s.expected AS VARCHAR) || '.'
        FROM (
            SELECT id, line, husid, (10 - (({_husid_weighted_sum("husid")}) %% 10)) %% 10 AS expected
            FROM sr_student WHERE submission_id = %(submission)s
        ) s
        WHERE CAST(substr(s.husid, 13, 1) AS INTEGER) <> s.expected
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="SR.HIN.01", title="Duplicate HIN", severity=Severity.ERROR)
def duplicate_hin(ctx):
    """The same HUSID + INSTID + NUMHUS appears more than once in the file. Each HIN must
    identify exactly one student on one programme; give the other registration its own NUMHUS."""
    return (
        """
        SELECT i.id, i.student_id, i.line, i.husid, i.numhus, 'NUMHUS', i.numhus,
               'HUSID ' || i.husid || ' with NUMHUS ' || i.numhus || ' appears '
               || CAST(d.n AS VARCHAR) || ' times in this file; each HIN must be unique.'
        FROM sr_instance i
        JOIN (
            SELECT husid, numhus, COUNT(*) AS n FROM sr_instance
            WHERE submission_id = %(submission)s GROUP BY husid, numhus HAVING COUNT(*) > 1
        ) d ON d.husid = i.husid AND d.numhus = i.numhus
        WHERE i.submission_id = %(submission)s
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="SR.INSTID.01", title="INSTID is not the provider's", severity=Severity.ERROR, applies_to="file")
def instid_matches_provider(ctx):
    """The INSTID in the file's Institution header must be the uploading provider's INSTID."""
    return (
        f"""
        SELECT {NO_ID}, {NO_ID}, CAST(NULL AS INTEGER), '', '', 'INSTID', file_instid,
               'The file gives INSTID ' || file_instid || ' but this provider''s INSTID is '
               || %(instid)s || '.'
        FROM collections_app_submission WHERE id = %(submission)s AND file_instid <> %(instid)s
        """,
        {"instid": ctx.provider_instid, "submission": ctx.submission_id},
    )


@rule(
    code="SR.STUDENT.01",
    title="Same HUSID, different birth date or gender",
    severity=Severity.ERROR,
    applies_to="student",
)
def husid_consistent_person(ctx):
    """Records with the same HUSID must have the same BIRTHDTE and GENDER: a HUSID identifies one
    person."""
    return (
        """
        SELECT CAST(NULL AS BIGINT), s.id, s.line, s.husid, '', 'BIRTHDTE/GENDER',
               CAST(s.birthdte AS VARCHAR) || ' / ' || s.gender,
               'HUSID ' || s.husid || ' appears with ' || CAST(g.births AS VARCHAR)
               || ' birth dates and ' || CAST(g.genders AS VARCHAR)
               || ' genders in this file; all its records must agree.'
        FROM sr_student s
        JOIN (
            SELECT husid, COUNT(DISTINCT birthdte) AS births, COUNT(DISTINCT gender) AS genders
            FROM sr_student
            WHERE submission_id = %(submission)s AND husid IN (
                -- MIN/MAX first: a hash aggregate, where COUNT(DISTINCT) over every HUSID would sort.
                SELECT husid FROM sr_student WHERE submission_id = %(submission)s
                GROUP BY husid HAVING MIN(birthdte) <> MAX(birthdte) OR MIN(gender) <> MAX(gender)
            )
            GROUP BY husid
        ) g ON g.husid = s.husid
        WHERE s.submission_id = %(submission)s
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="SR.STUDENT.02", title="Same person, different HUSID", severity=Severity.ERROR, applies_to="student")
def person_has_one_husid(ctx):
    """Records with the same FNAMES, SURNAME, BIRTHDTE and GENDER are expected to have the same
    HUSID. Each record is reported naming the other record, so both can be checked."""
    return (
        """
        WITH clash AS (
            SELECT fnames, surname, birthdte, gender FROM sr_student WHERE submission_id = %(submission)s
            GROUP BY fnames, surname, birthdte, gender HAVING MIN(husid) <> MAX(husid)
        ),
        people AS (
            SELECT s.id, s.line, s.husid, s.fnames, s.surname, s.birthdte, s.gender
            FROM sr_student s
            JOIN clash c ON c.fnames = s.fnames AND c.surname = s.surname
                        AND c.birthdte = s.birthdte AND c.gender = s.gender
            WHERE s.submission_id = %(submission)s
        )
        SELECT CAST(NULL AS BIGINT), a.id, a.line, a.husid, '', 'HUSID', a.husid,
               a.fnames || ' ' || a.surname || ' (born ' || CAST(a.birthdte AS VARCHAR)
               || ') has HUSID ' || a.husid || ' here and HUSID ' || b.husid
               || ' on line ' || CAST(b.line AS VARCHAR) || '; one person should have one HUSID.'
        FROM people a
        JOIN people b ON b.fnames = a.fnames AND b.surname = a.surname
                     AND b.birthdte = a.birthdte AND b.gender = a.gender AND b.husid <> a.husid
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="SR.DATE.01", title="DATELEFT before COMDATE", severity=Severity.ERROR)
def dateleft_after_comdate(ctx):
    """A student cannot leave a programme before starting it: DATELEFT must not be earlier than
    COMDATE."""
    return (
        """
        SELECT id, student_id, line, husid, numhus, 'DATELEFT', CAST(dateleft AS VARCHAR),
               'DATELEFT ' || CAST(dateleft AS VARCHAR) || ' is before COMDATE '
               || CAST(comdate AS VARCHAR) || '.'
        FROM sr_instance
        WHERE submission_id = %(submission)s AND dateleft IS NOT NULL AND dateleft < comdate
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="SR.DATE.02", title="RSNLEAVE and DATELEFT must come together", severity=Severity.ERROR)
def rsnleave_with_dateleft(ctx):
    """A record that says why the student left (RSNLEAVE) must say when (DATELEFT), and a record
    with DATELEFT must give RSNLEAVE."""
    return (
        """
        SELECT id, student_id, line, husid, numhus,
               CASE WHEN rsnleave <> '' THEN 'RSNLEAVE' ELSE 'DATELEFT' END,
               CASE WHEN rsnleave <> '' THEN rsnleave ELSE CAST(dateleft AS VARCHAR) END,
               CASE WHEN rsnleave <> ''
                    THEN 'RSNLEAVE ' || rsnleave || ' is given but DATELEFT is missing.'
                    ELSE 'DATELEFT ' || CAST(dateleft AS VARCHAR) || ' is given but RSNLEAVE is missing.'
               END
        FROM sr_instance
        WHERE submission_id = %(submission)s
          AND ((rsnleave <> '' AND dateleft IS NULL) OR (rsnleave = '' AND dateleft IS NOT NULL))
        """,
        {"submission": ctx.submission_id},
    )
