"""The quality-rules engine and registry; each record kind registers its own rules (e.g.
student_record.rules, hin.rules) when its app is ready."""

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
