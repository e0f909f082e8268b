"""The credibility tables, computed in the Student record's pipeline after the rules and linking."""

from collections_app import kinds
from collections_app.models import CollectionKind, Stage

from .services import submission_credibility

kinds.add_stage(CollectionKind.STUDENT_RECORD, stage=Stage.CREDIBILITY, run=submission_credibility)
