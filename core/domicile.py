"""DOMICILE groups (HOMEEUOS): UK, EU, overseas, not known. Shared by the contact details
population (contacts/population.py) and the Student record's credibility tables (credibility/),
so both count a country in the same group.
"""

from __future__ import annotations

import re

from django.db import models


class HomeEuOs(models.TextChoices):
    UK = "1", "UK"
    EU = "2", "EU"
    OVERSEAS = "3", "Overseas"
    NOT_KNOWN = "4", "Not known"


# UK: the agency's codes for England, Northern Ireland, Scotland, Wales and "UK, not otherwise
# specified".
UK_DOMICILES = ("XF", "XG", "XH", "XI", "XK")
# The 27 member states of the European Union (since 1 February 2020, the UK's exit), as ISO
# 3166-1 alpha-2 codes. Keep in step with EU membership: a country joining or leaving changes
# which records count as EU (HOMEEUOS 2) in every population or credibility table built afterwards.
EU_MEMBER_STATES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip
NOT_KNOWN_DOMICILE = "ZZ"  # with a missing DOMICILE: HOMEEUOS 4

_CODE = re.compile(r"^[A-Z]{2}$")


def _sql_list(codes) -> str:
    # Constants of this module only, checked: inlined as SQL literals so the CASE reads plainly.
    assert all(_CODE.match(code) for code in codes)
    return ", ".join(f"'{code}'" for code in codes)


def homeeuos_sql(column: str) -> str:
    """The SQL expression deriving HOMEEUOS from a DOMICILE column."""
    return (
        f"CASE WHEN {column} IN ({_sql_list(UK_DOMICILES)}) THEN '{HomeEuOs.UK}' "
        f"WHEN {column} IN ({_sql_list(EU_MEMBER_STATES)}) THEN '{HomeEuOs.EU}' "
        f"WHEN {column} IS NULL OR {column} IN ('', '{NOT_KNOWN_DOMICILE}') THEN '{HomeEuOs.NOT_KNOWN}' "
        f"ELSE '{HomeEuOs.OVERSEAS}' END"
    )


def homeeuos_of(domicile: str | None) -> str:
    """The same mapping in Python (for tests and single values)."""
    if domicile in UK_DOMICILES:
        return HomeEuOs.UK
    if domicile in EU_MEMBER_STATES:
        return HomeEuOs.EU
    if not domicile or domicile == NOT_KNOWN_DOMICILE:
        return HomeEuOs.NOT_KNOWN
    return HomeEuOs.OVERSEAS
