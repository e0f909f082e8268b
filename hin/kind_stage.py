"""Year-on-year linking, added to the Student record's pipeline after its rules."""

from collections_app import kinds
from collections_app.models import CollectionKind, Stage

from .services import submission_link

kinds.add_stage(CollectionKind.STUDENT_RECORD, stage=Stage.LINKING, run=submission_link)
