"""Quality rules. Importing this package registers every rule module."""

from . import student_record  # noqa: F401
from .registry import (
    FAILURE_COLUMNS,
    Rule,
    RuleContext,
    Tolerance,
    all_rules,
    get_rule,
    rule,
    rules_for,
)

__all__ = ["FAILURE_COLUMNS", "Rule", "RuleContext", "Tolerance", "all_rules", "get_rule", "rule", "rules_for"]
