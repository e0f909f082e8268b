"""Fixtures shared by the credibility tests."""

from .fixtures import two_years, years  # noqa: F401
