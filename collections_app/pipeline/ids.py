"""Record ids derived from the submission and the record's position in the file.

Deterministic ids make a re-run of the load stage write the very same rows, and let the
parser write foreign keys between a kind's tables (e.g. the Student record's instance -> student)
before anything reaches the database.
"""

RECORDS_PER_SUBMISSION = 10_000_000


def record_id(submission_id: int, position: int) -> int:
    if not 0 < position < RECORDS_PER_SUBMISSION:
        raise ValueError(f"record position {position} is outside 1..{RECORDS_PER_SUBMISSION - 1}")
    return submission_id * RECORDS_PER_SUBMISSION + position
