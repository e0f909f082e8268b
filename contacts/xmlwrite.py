"""Write a contact details file: the format of contacts/xsd/contact_details_v1.xsd.

Used by the web form (one graduate changed, the rest as stored), the sample generator and tests.
Streams: `graduates` may be a generator of any length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO
from xml.sax.saxutils import escape

DETAIL_ELEMENTS = ("EMAIL", "UKMOB", "UKTEL", "INTTEL")  # in the XSD's order


@dataclass
class GraduateDetails:
    husid: str
    numhus: str
    gradstatus: str = ""
    # element name -> values, in the order to write them (at most 3 each)
    details: dict[str, list[str]] = field(default_factory=dict)


def write_contact_details(out: TextIO, *, recid: str, ukprn: str, graduates: Iterable[GraduateDetails]) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<ContactDetailsRecord>\n  <Provider>\n')
    out.write(f"    <RECID>{escape(recid)}</RECID>\n    <UKPRN>{escape(ukprn)}</UKPRN>\n")
    for graduate in graduates:
        parts = [
            "    <Graduate>\n",
            f"      <HUSID>{escape(graduate.husid)}</HUSID>\n",
            f"      <NUMHUS>{escape(graduate.numhus)}</NUMHUS>\n",
        ]
        if graduate.gradstatus:
            parts.append(f"      <GRADSTATUS>{escape(graduate.gradstatus)}</GRADSTATUS>\n")
        for element in DETAIL_ELEMENTS:
            parts += [f"      <{element}>{escape(value)}</{element}>\n" for value in graduate.details.get(element, ())]
        parts.append("    </Graduate>\n")
        out.write("".join(parts))
    out.write("  </Provider>\n</ContactDetailsRecord>\n")
