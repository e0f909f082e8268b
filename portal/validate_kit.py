"""`portal-validate`: the offline validation kit. A provider checks a file on its own machine with
exactly the portal's checks (XSD, parser, quality rules, and with last year's file the HIN
year-on-year checks), before uploading it:

    portal-validate FILE.xml [--previous LAST_YEAR.xml] [--out DIR]
    portal-validate --kind contacts FILE.xml --population POP.xml [--out DIR]

It is the portal itself, run in process on a throwaway SQLite database in a temporary folder:
no server, no Redis (Celery tasks run eagerly), no network. It prints the verdict, the failures
per rule and the first failures, and writes the CSV files the portal offers for download.

This module only reads the arguments and configures Django (settings come from the environment,
so it sets the environment before Django starts); the work is in portal.kit_run, imported once
Django is set up because importing models needs it. Exit codes: 0 passed; 1 failed, rejected, or
refused as the upload form would; 2 usage error (bad arguments, unreadable files, a population of
another provider); 3 the check itself broke (a processing error: please report it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

import django

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_BROKEN = 0, 1, 2, 3
KINDS = {"student-record": "student_record", "student_record": "student_record", "contacts": "contact_details"}


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-validate",
        description="Check a Student record or Graduate Outcomes contact details file offline, with the "
        "portal's own checks, and write the CSV files the portal offers.",
        epilog="Exit status: 0 passed, 1 failed, rejected or refused, 2 usage error, 3 the check itself broke.",
    )
    parser.add_argument("file", type=Path, help="the XML file to check")
    parser.add_argument(
        "--kind",
        choices=sorted(KINDS),
        help="what the file is (default: from its root element: StudentRecord or ContactDetailsRecord)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        help="Student record: last year's file, as approved, for the HIN year-on-year checks (reports A-D)",
    )
    parser.add_argument(
        "--population",
        type=Path,
        help="contacts: the cohort's population XML (the portal's /collections/<ref>/population.xml)",
    )
    parser.add_argument(
        "--cohort",
        choices=["A", "B", "C", "D"],
        help="contacts: the cohort (default: from the population's DATELEFT dates)",
    )
    parser.add_argument(
        "--instid",
        help="Student record: the provider's INSTID as the portal holds it, if the file might give another "
        "(rule SR.INSTID.01; default: the file's own, so that rule cannot fail)",
    )
    parser.add_argument(
        "--email-domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="contacts: one of the provider's own email domains, as the portal holds them (repeatable)",
    )
    parser.add_argument(
        "--switchboard",
        action="append",
        default=[],
        metavar="NUMBER",
        help="contacts: one of the provider's switchboard numbers, as the portal holds them (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, help="folder for the CSV files (default: ./<file name>-checks, created if missing)"
    )
    parser.add_argument("--show", type=int, default=10, help="how many failures to print (default 10)")
    return parser


def configure(workdir: Path) -> None:
    """Django on a throwaway SQLite database in `workdir`; what the environment would otherwise
    choose (a .env, a DATABASE_URL or broker for the portal) is overridden."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'kit.sqlite3'}",
            "SECRET_KEY": secrets.token_urlsafe(50),  # nothing is signed, but settings need one
            "DEBUG": "0",
            "CELERY_BROKER_URL": "",  # tasks run eagerly, in this process
            "FILE_STORAGE": "filesystem",
            "MEDIA_ROOT": str(workdir / "media"),
            "CACHE_URL": "locmemcache://",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "CONTACTS_EMAIL_CHECK_DELIVERABILITY": "0",  # no DNS: no network
            "LOG_LEVEL": "WARNING",
        }
    )
    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    for name in ("file", "previous", "population"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            parser.error(f"{path}: no such file")
    if args.instid is not None and not (len(args.instid) == 4 and args.instid.isdigit()):
        parser.error(f"--instid {args.instid}: an INSTID is 4 digits")
    if args.previous and args.population:
        parser.error("--previous is for a Student record, --population for contact details: not both")
    with tempfile.TemporaryDirectory(prefix="portal-validate-") as tmp:
        configure(Path(tmp))
        kit = importlib.import_module("portal.kit_run")  # models need Django set up first
        try:
            return kit.check(args, out=sys.stdout)
        except kit.KitUsageError as exc:
            print(f"portal-validate: {exc}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
