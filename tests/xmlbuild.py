"""Small builders for hand-written Student record files in tests."""

from xml.sax.saxutils import escape

STUDENT_FIELDS = ("HUSID", "OWNSTU", "FNAMES", "SURNAME", "BIRTHDTE", "GENDER", "ETHNIC", "UCASNUM")
INSTANCE_FIELDS = (
    "NUMHUS", "OWNPSD", "QUALAIM", "PTITLE", "COMDATE", "MODE", "RSNLEAVE", "DATELEFT", "NOTACT",
    "QUAL1", "QUAL2", "YRLLINST", "TOTALTS",
)  # fmt: skip
ENTRY_FIELDS = ("QUALENT2", "POSTCODE", "DOMICILE")

VALID_HUSID = "9811681234562"  # the spec's worked example: S = 208, check digit 2


def instance(**fields) -> dict:
    base = {"NUMHUS": "1", "QUALAIM": "21", "PTITLE": "BSc Maths", "COMDATE": "2022-09-20", "MODE": "01",
            "QUALENT2": "40", "POSTCODE": "GL50 1HZ", "DOMICILE": "XF"}  # fmt: skip
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def student(*instances, **fields) -> dict:
    base = {"HUSID": VALID_HUSID, "FNAMES": "Peter", "SURNAME": "Smith", "BIRTHDTE": "1974-12-06",
            "GENDER": "M", "ETHNIC": "10"}  # fmt: skip
    base.update(fields)
    base = {k: v for k, v in base.items() if v is not None}
    base["instances"] = list(instances) or [instance()]
    return base


def _element(tag, value, indent):
    return f"{indent}<{tag}>{escape(str(value))}</{tag}>\n"


def student_record(*students, recid="23051", instid="0168", ukprn="10007794") -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<StudentRecord>\n  <Institution>\n']
    out.append(f"    <RECID>{recid}</RECID>\n    <INSTID>{instid}</INSTID>\n    <UKPRN>{ukprn}</UKPRN>\n")
    for s in students:
        out.append("    <Student>\n")
        out += [_element(f, s[f], "      ") for f in STUDENT_FIELDS if f in s]
        for i in s["instances"]:
            out.append("      <Instance>\n")
            out += [_element(f, i[f], "        ") for f in INSTANCE_FIELDS if f in i]
            out.append("        <EntryProfile>\n")
            out += [_element(f, i[f], "          ") for f in ENTRY_FIELDS if f in i]
            out.append("        </EntryProfile>\n      </Instance>\n")
        out.append("    </Student>\n")
    out.append("  </Institution>\n</StudentRecord>\n")
    return "".join(out).encode()
