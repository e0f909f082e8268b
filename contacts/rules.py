"""Quality rules for Graduate Outcomes contact details (../shared/spec/contact-details.md,
"Quality rules").

Each rule is one set-based SELECT over the submission's go_graduate / go_detail rows that
PostgreSQL and SQLite both run; columns: registry.FAILURE_COLUMNS. instance_id and student_id
stay NULL (they name the Student record's tables): a failure points at its record by line,
HUSID and NUMHUS. The parser has already normalised and classified every detail (go_detail's
normalised, domain, problem, role_mailbox, dummy), so the rules only compare and count.

The population is the current go_population_build of the submission's provider and collection.
The provider's email domains and switchboard numbers are lists on accounts.Provider: read once
per rule run and passed in as a small table of named parameters.
"""

from functools import partial

import phonenumbers

from accounts.models import Provider
from collections_app.models import CollectionKind, Severity, SubmissionStatus
from collections_app.rules import registry
from collections_app.rules.registry import Tolerance

from .models import DetailFamily, DetailType, PopulationBuild

rule = partial(registry.rule, record_kind=CollectionKind.CONTACT_DETAILS)

NO_ID = "CAST(NULL AS BIGINT)"
NO_LINE = "CAST(NULL AS INTEGER)"
PHONES = ", ".join(f"'{t}'" for t in (DetailType.UKMOB, DetailType.UKTEL, DetailType.INTTEL))

# The cohort's population: the entries of the build population_build(ctx) found.
POPULATION = """
    population AS (
        SELECT e.husid, e.numhus, e.homeeuos, e.fnames, e.surname
        FROM go_population_entry e WHERE e.build_id = %(population)s
    )"""


def population_build(ctx) -> int | None:
    """The id of the current population build of the submission's provider and collection
    (None: none built yet, so the population is empty). Looked up first so that PostgreSQL plans
    with the build's own statistics: joined in SQL, it expects one entry and compares every
    graduate with every entry."""
    return (
        PopulationBuild.objects.filter(
            is_current=True, provider__submissions=ctx.submission_id, collection__submissions=ctx.submission_id
        )
        .values_list("id", flat=True)
        .first()
    )


# Every graduate of the file with how many emails and phones it gives.
GRADUATES = """
    graduates AS (
        SELECT g.id, g.line, g.husid, g.numhus, g.gradstatus,
               COALESCE(c.emails, 0) AS emails, COALESCE(c.phones, 0) AS phones
        FROM go_graduate g
        LEFT JOIN (
            SELECT graduate_id,
                   SUM(CASE WHEN detail_type = 'EMAIL' THEN 1 ELSE 0 END) AS emails,
                   SUM(CASE WHEN detail_type = 'EMAIL' THEN 0 ELSE 1 END) AS phones
            FROM go_detail WHERE submission_id = %(submission)s GROUP BY graduate_id
        ) c ON c.graduate_id = g.id
        WHERE g.submission_id = %(submission)s
    )"""

# A graduate's record key as shown in messages.
HIN_G = "'HUSID ' || g.husid || ' NUMHUS ' || g.numhus"
HIN_P = "'HUSID ' || p.husid || ' NUMHUS ' || p.numhus"

# GO.EMAIL.10 / GO.PHONE.06: a shared detail the provider gave a reason for, in this collection.
REASON_RECORDED = """
    EXISTS (
        SELECT 1 FROM go_shared_reason r
        JOIN collections_app_submission s ON s.provider_id = r.provider_id AND s.collection_id = r.collection_id
        WHERE s.id = %(submission)s AND r.family = %(family)s AND r.normalised = {t}.normalised
    )"""


def _values_table(name: str, values: list[str]) -> tuple[str, dict]:
    """A CTE `name(value)` of the given strings, as named parameters; empty when there are none."""
    if not values:
        return f"{name} AS (SELECT CAST(NULL AS VARCHAR(254)) AS value WHERE 1 = 0)", {}
    params = {f"{name}_{i}": value for i, value in enumerate(values)}
    rows = " UNION ALL ".join(f"SELECT CAST(%({key})s AS VARCHAR(254)) AS value" for key in params)
    return f"{name} AS ({rows})", params


def _provider(ctx) -> Provider:
    return Provider.objects.filter(submissions=ctx.submission_id).only("email_domains", "switchboard_numbers").get()


def _own_domains(ctx) -> tuple[str, dict]:
    """own_domains(value): the provider's email domains, lower-cased, without a leading @ or dot."""
    domains = {str(d).strip().lower().lstrip("@.").rstrip(".") for d in _provider(ctx).email_domains or []}
    return _values_table("own_domains", sorted(d for d in domains if d))


def switchboard_e164(numbers) -> list[str]:
    """The provider's switchboard numbers (any format, UK unless they say otherwise) in E.164;
    numbers phonenumbers cannot read are left out."""
    found = set()
    for number in numbers or []:
        try:
            parsed = phonenumbers.parse(str(number), "GB")
        except phonenumbers.NumberParseException:
            continue
        found.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


# Per graduate with at least one email: how many it gives and how many are in the provider's own
# domains (the domain itself or a subdomain of it). Needs own_domains.
OWN_EMAILS = """
    own_emails AS (
        SELECT f.graduate_id, COUNT(*) AS emails, SUM(f.own) AS own, MIN(f.domain) AS domain
        FROM (
            SELECT d.graduate_id, lower(d.domain) AS domain,
                   CASE WHEN EXISTS (
                       SELECT 1 FROM own_domains o
                       WHERE lower(d.domain) = o.value
                          OR (length(d.domain) > length(o.value)
                              AND substr(lower(d.domain), length(d.domain) - length(o.value)) = '.' || o.value)
                   ) THEN 1 ELSE 0 END AS own
            FROM go_detail d
            WHERE d.submission_id = %(submission)s AND d.detail_type = 'EMAIL'
        ) f
        GROUP BY f.graduate_id
    )"""


# -- population ------------------------------------------------------------------------------


@rule(code="GO.POP.01", title="Graduate not in the population", severity=Severity.ERROR)
def graduate_in_population(ctx):
    """Every Graduate (HUSID + NUMHUS) must be in the cohort's population, built from the
    provider's approved Student record. Remove a Graduate that is not, or correct the Student
    record if the graduate belongs in this cohort. Without a population (none built yet for the
    provider and cohort) every Graduate fails, saying so."""
    build = population_build(ctx)
    todo = (
        "only its graduates may be returned. Remove this Graduate, or correct HUSID/NUMHUS if they are wrong."
        if build is not None
        else "no population has been built for this provider and cohort yet (it comes from the approved "
        "Student record): contact Liaison."
    )
    return (
        f"""
        WITH {POPULATION}
        SELECT {NO_ID}, {NO_ID}, g.line, g.husid, g.numhus, 'HUSID/NUMHUS', g.husid || '/' || g.numhus,
               {HIN_G} || ' is not in this cohort''s population: ' || %(todo)s
        FROM go_graduate g
        WHERE g.submission_id = %(submission)s
          AND NOT EXISTS (SELECT 1 FROM population p WHERE p.husid = g.husid AND p.numhus = g.numhus)
        """,
        {"submission": ctx.submission_id, "population": build, "todo": todo},
    )


@rule(code="GO.POP.02", title="Population graduate missing from the file", severity=Severity.ERROR)
def population_graduate_returned(ctx):
    """Every graduate of the cohort's population must have a Graduate in the file: their contact
    details, or a GRADSTATUS saying why there are none. Reported against the population entry
    (no line)."""
    return (
        f"""
        WITH {POPULATION}
        SELECT {NO_ID}, {NO_ID}, {NO_LINE}, p.husid, p.numhus, 'HUSID/NUMHUS', p.husid || '/' || p.numhus,
               {HIN_P} || ' (' || p.fnames || ' ' || p.surname || ') is in this cohort''s '
               || 'population but has no Graduate in the file: add their contact details, or a GRADSTATUS.'
        FROM population p
        WHERE NOT EXISTS (
            SELECT 1 FROM go_graduate g
            WHERE g.submission_id = %(submission)s AND g.husid = p.husid AND g.numhus = p.numhus
        )
        """,
        {"submission": ctx.submission_id, "population": population_build(ctx)},
    )


# -- emails ----------------------------------------------------------------------------------


@rule(
    code="GO.EMAIL.01",
    title="A phone number but no email",
    severity=Severity.WARNING,
    tolerance=Tolerance(percent=5),
)
def phone_but_no_email(ctx):
    """A graduate without GRADSTATUS has a phone number but no email address. The survey
    contacts graduates by email first: add a personal email address if you hold one. Default
    tolerance: 5% of graduates."""
    return (
        f"""
        WITH {GRADUATES}
        SELECT {NO_ID}, {NO_ID}, g.line, g.husid, g.numhus, 'EMAIL', '',
               {HIN_G} || ' has ' || CAST(g.phones AS VARCHAR)
               || CASE WHEN g.phones = 1 THEN ' phone number' ELSE ' phone numbers' END
               || ' but no email address: the survey contacts graduates by email first. '
               || 'Add their personal email address if you hold one.'
        FROM graduates g
        WHERE g.gradstatus = '' AND g.emails = 0 AND g.phones > 0
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="GO.EMAIL.04", title="No contact details and no GRADSTATUS", severity=Severity.ERROR)
def no_contact_details(ctx):
    """A graduate without GRADSTATUS must have at least one email address or phone number. Give
    their contact details, or the GRADSTATUS that says why there are none (01 deceased, 02 not
    contactable, 03 serious illness)."""
    return (
        f"""
        WITH {GRADUATES}
        SELECT {NO_ID}, {NO_ID}, g.line, g.husid, g.numhus, 'GRADSTATUS', '',
               {HIN_G} || ' has no email address, no phone number and no GRADSTATUS: give '
               || 'their contact details, or the GRADSTATUS that says why there are none.'
        FROM graduates g
        WHERE g.gradstatus = '' AND g.emails = 0 AND g.phones = 0
        """,
        {"submission": ctx.submission_id},
    )


@rule(code="GO.EMAIL.05", title="Contact details with a GRADSTATUS", severity=Severity.ERROR)
def details_with_gradstatus(ctx):
    """A graduate with GRADSTATUS 01 (deceased), 02 (not contactable by email or telephone) or
    03 (serious illness) must have no email address or phone number: remove the details, or the
    GRADSTATUS if it is wrong."""
    return (
        f"""
        WITH {GRADUATES}
        SELECT {NO_ID}, {NO_ID}, g.line, g.husid, g.numhus, 'GRADSTATUS', g.gradstatus,
               {HIN_G} || ' has GRADSTATUS ' || g.gradstatus || ' ('
               || CASE g.gradstatus WHEN '01' THEN 'deceased' WHEN '02' THEN 'not contactable'
                                    ELSE 'serious illness' END
               || ') and ' || CAST(g.emails + g.phones AS VARCHAR)
               || CASE WHEN g.emails + g.phones = 1 THEN ' contact detail' ELSE ' contact details' END
               || ': such a graduate is not contacted. Remove the details, or GRADSTATUS if it is wrong.'
        FROM graduates g
        WHERE g.gradstatus IN ('01', '02', '03') AND g.emails + g.phones > 0
        """,
        {"submission": ctx.submission_id},
    )


@rule(
    code="GO.EMAIL.09",
    title="Only provider-domain emails",
    severity=Severity.WARNING,
    tolerance=Tolerance(percent=10),
)
def only_provider_emails(ctx):
    """Every email address of the graduate is in one of the provider's own domains (or a
    subdomain of one): such addresses may expire before the survey reaches the graduate. Add a
    personal address. Default tolerance: 10% of graduates, GO.EMAIL.14's threshold."""
    domains, params = _own_domains(ctx)
    return (
        f"""
        WITH {domains}, {OWN_EMAILS}
        SELECT {NO_ID}, {NO_ID}, g.line, g.husid, g.numhus, 'EMAIL', o.domain,
               {HIN_G} || ' has '
               || CASE WHEN o.emails = 1 THEN 'one email address, at '
                       ELSE 'only email addresses at ' END
               || 'the provider''s own domain (' || o.domain || '), which may expire before the survey: '
               || 'add the graduate''s personal email address.'
        FROM own_emails o
        JOIN go_graduate g ON g.id = o.graduate_id
        WHERE o.own = o.emails
        """,
        {"submission": ctx.submission_id, **params},
    )


def _shared(ctx, *, family: str, types: str, field: str, noun: str, example: str):
    """GO.EMAIL.10 / GO.PHONE.06: one row per graduate giving a detail that another graduate of
    the file gives too, unless the provider recorded a reason for it. A graduate giving the same
    number twice (as UKTEL and INTTEL, say) counts once."""
    reason_recorded = REASON_RECORDED.format(t="p")
    return (
        f"""
        WITH per_graduate AS (
            SELECT normalised, graduate_id, MIN(detail_type) AS detail_type, MIN(value) AS value,
                   MIN(detail_type || ' ' || value) AS shown, MIN(line) AS line,
                   MIN(husid) AS husid, MIN(numhus) AS numhus
            FROM go_detail
            WHERE submission_id = %(submission)s AND detail_type IN ({types}) AND normalised <> ''
            GROUP BY normalised, graduate_id
        ),
        shared AS (
            SELECT normalised, COUNT(*) AS graduates FROM per_graduate GROUP BY normalised HAVING COUNT(*) > 1
        )
        SELECT {NO_ID}, {NO_ID}, p.line, p.husid, p.numhus, {field}, p.value,
               p.shown || ' is also given for '
               || CASE WHEN s.graduates = 2 THEN 'another graduate'
                       ELSE CAST(s.graduates - 1 AS VARCHAR) || ' other graduates' END
               || ' in this file. Each graduate needs their own {noun}: correct it, or if they rightly share '
               || 'it ({example}) record the reason for the shared detail.'
        FROM per_graduate p
        JOIN shared s ON s.normalised = p.normalised
        WHERE NOT {reason_recorded}
        """,
        {"submission": ctx.submission_id, "family": family},
    )


@rule(code="GO.EMAIL.10", title="Email shared between graduates", severity=Severity.ERROR)
def shared_email(ctx):
    """The same email address (compared case-insensitively) is given for two or more graduates
    of this file, and the provider has recorded no reason for sharing it. One failure per
    graduate involved; recording a reason clears them all, in this and later uploads."""
    return _shared(
        ctx,
        family=DetailFamily.EMAIL,
        types="'EMAIL'",
        field="'EMAIL'",
        noun="personal email address",
        example="e.g. family members sharing an address",
    )


@rule(code="GO.EMAIL.11", title="Email given for another graduate in an earlier cohort", severity=Severity.ERROR)
def email_of_earlier_graduate(ctx):
    """The email address was already given for a different graduate (another HUSID) in an
    earlier cohort's approved contact details, at this or any other provider: it is probably
    not this graduate's own. The message names neither the other provider nor the graduate.
    Earlier: a contact details collection of an earlier reporting year, or of the same year and
    an earlier cohort."""
    return (
        """
        WITH this_collection AS (
            SELECT c.reporting_year, c.cohort
            FROM collections_app_submission s JOIN collections_app_collection c ON c.id = s.collection_id
            WHERE s.id = %(submission)s
        ),
        earlier AS (
            SELECT s.id
            FROM collections_app_submission s
            JOIN collections_app_collection c ON c.id = s.collection_id
            JOIN this_collection t
              ON c.reporting_year < t.reporting_year
              OR (c.reporting_year = t.reporting_year AND c.cohort < t.cohort)
            WHERE c.kind = %(kind)s AND (s.status = %(approved)s OR s.rerun_from_status = %(approved)s)
        )
        SELECT CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), d.line, d.husid, d.numhus, 'EMAIL', d.value,
               'EMAIL ' || d.value || ' was given for a different graduate in an earlier cohort: it is '
               || 'probably not this graduate''s own address. Check it with the graduate and give their '
               || 'personal email address.'
        FROM go_detail d
        WHERE d.submission_id = %(submission)s AND d.detail_type = 'EMAIL' AND d.normalised <> ''
          AND EXISTS (
              SELECT 1 FROM go_detail o
              WHERE o.normalised = d.normalised AND o.detail_type = 'EMAIL' AND o.husid <> d.husid
                AND o.submission_id IN (SELECT id FROM earlier)
          )
        """,
        {
            "submission": ctx.submission_id,
            "kind": CollectionKind.CONTACT_DETAILS.value,
            "approved": SubmissionStatus.APPROVED.value,
        },
    )


@rule(code="GO.EMAIL.12", title="Not a valid personal email address", severity=Severity.ERROR)
def invalid_email(ctx):
    """The email address is not a valid personal address: its syntax or domain is wrong
    (checked without DNS), or it is a role or generic mailbox (info@, admissions@, enquiries@,
    noreply@, careers@, alumni@ and the like) rather than the graduate's own."""
    return (
        f"""
        SELECT {NO_ID}, {NO_ID}, d.line, d.husid, d.numhus, 'EMAIL', d.value,
               CASE WHEN d.problem <> ''
                    THEN 'EMAIL ' || d.value || ' is not a valid email address: ' || rtrim(d.problem, '.')
                         || '. Correct it or remove it.'
                    ELSE 'EMAIL ' || d.value || ' is a role or generic mailbox, not the graduate''s own: '
                         || 'give their personal email address instead.'
               END
        FROM go_detail d
        WHERE d.submission_id = %(submission)s AND d.detail_type = 'EMAIL' AND (d.problem <> '' OR d.role_mailbox)
        """,
        {"submission": ctx.submission_id},
    )


@rule(
    code="GO.EMAIL.13",
    title="Too few overseas graduates with an email",
    severity=Severity.ERROR,
    applies_to="file",
)
def overseas_email_coverage(ctx):
    """Provider level: where 50 or more graduates have no GRADSTATUS and HOMEEUOS 3 (overseas,
    from the population), at least 95% of them must have an email address; overseas graduates
    are surveyed by email only."""
    return (
        f"""
        WITH {POPULATION}, {GRADUATES},
        overseas AS (
            SELECT COUNT(*) AS graduates, SUM(CASE WHEN g.emails > 0 THEN 1 ELSE 0 END) AS with_email
            FROM graduates g
            JOIN population p ON p.husid = g.husid AND p.numhus = g.numhus
            WHERE g.gradstatus = '' AND p.homeeuos = '3'
        )
        SELECT {NO_ID}, {NO_ID}, {NO_LINE}, '', '', 'EMAIL',
               CAST(o.with_email AS VARCHAR) || ' of ' || CAST(o.graduates AS VARCHAR),
               'Only ' || CAST(o.with_email AS VARCHAR) || ' of the ' || CAST(o.graduates AS VARCHAR)
               || ' overseas graduates (HOMEEUOS 3) without GRADSTATUS have an email address; at least 95%% '
               || '(' || CAST((o.graduates * 95 + 99) / 100 AS VARCHAR) || ') must, as overseas graduates '
               || 'are surveyed by email only. Add the missing personal email addresses.'
        FROM overseas o
        WHERE o.graduates >= 50 AND o.with_email * 100 < o.graduates * 95
        """,
        {"submission": ctx.submission_id, "population": population_build(ctx)},
    )


@rule(
    code="GO.EMAIL.14",
    title="Many graduates with only provider-domain emails",
    severity=Severity.WARNING,
    applies_to="file",
)
def provider_email_share(ctx):
    """Provider level: the file has 50 or more graduates and more than 10% of them have email
    addresses only in the provider's own domains, which may expire before the survey. No
    default tolerance: the rule's own threshold is the tolerance."""
    domains, params = _own_domains(ctx)
    return (
        f"""
        WITH {domains}, {OWN_EMAILS},
        figures AS (
            SELECT (SELECT COUNT(*) FROM go_graduate WHERE submission_id = %(submission)s) AS graduates,
                   (SELECT COUNT(*) FROM own_emails WHERE own = emails) AS own
        )
        SELECT {NO_ID}, {NO_ID}, {NO_LINE}, '', '', 'EMAIL',
               CAST(f.own AS VARCHAR) || ' of ' || CAST(f.graduates AS VARCHAR),
               CAST(f.own AS VARCHAR) || ' of the ' || CAST(f.graduates AS VARCHAR) || ' graduates have '
               || 'email addresses only at the provider''s own domains, more than 10%% (at most '
               || CAST(f.graduates / 10 AS VARCHAR) || '); such addresses may expire before the survey. '
               || 'Add the graduates'' personal email addresses (see GO.EMAIL.09 for who).'
        FROM figures f
        WHERE f.graduates >= 50 AND f.own * 100 > f.graduates * 10
        """,
        {"submission": ctx.submission_id, **params},
    )


# -- phones ----------------------------------------------------------------------------------


def _phone_problem(*, code: str, detail_type: str, title: str, what: str, doc: str):
    def sql(ctx):
        return (
            f"""
            SELECT {NO_ID}, {NO_ID}, d.line, d.husid, d.numhus, d.detail_type, d.value,
                   d.detail_type || ' ' || d.value || ': ' || rtrim(d.problem, '.') || '. Correct it or remove it.'
            FROM go_detail d
            WHERE d.submission_id = %(submission)s AND d.detail_type = %(detail_type)s AND d.problem <> ''
            """,
            {"submission": ctx.submission_id, "detail_type": detail_type},
        )

    sql.__doc__ = doc
    sql.__name__ = f"phone_{code[-2:]}"
    rule(code=code, title=title, severity=Severity.ERROR)(sql)
    return sql


_phone_problem(
    code="GO.PHONE.01",
    detail_type=DetailType.UKMOB,
    title="Not a valid UK mobile number",
    what="a valid UK mobile number",
    doc="""A UKMOB must be a valid UK mobile number (checked with phonenumbers, region GB).""",
)
_phone_problem(
    code="GO.PHONE.02",
    detail_type=DetailType.UKTEL,
    title="Not a valid UK landline",
    what="a valid UK landline number",
    doc="""A UKTEL must be a valid UK landline number: mobiles (give them as UKMOB), premium-rate and
    freephone numbers fail.""",
)
_phone_problem(
    code="GO.PHONE.03",
    detail_type=DetailType.INTTEL,
    title="Not a valid non-UK number",
    what="a valid telephone number outside the UK",
    doc="""An INTTEL must be a valid telephone number outside the UK, given with its country code (UK
    numbers go in UKMOB or UKTEL).""",
)


@rule(code="GO.PHONE.04", title="INTTEL for an overseas graduate", severity=Severity.ERROR)
def inttel_overseas(ctx):
    """An INTTEL is given for a graduate whose HOMEEUOS (from the population) is 3, overseas:
    overseas graduates are surveyed by email only. Remove the number and give their email
    address."""
    return (
        f"""
        WITH {POPULATION}
        SELECT {NO_ID}, {NO_ID}, d.line, d.husid, d.numhus, 'INTTEL', d.value,
               'INTTEL ' || d.value || ' is given for an overseas graduate (HOMEEUOS 3), who is surveyed '
               || 'by email only: remove the number and make sure their personal email address is given.'
        FROM go_detail d
        JOIN population p ON p.husid = d.husid AND p.numhus = d.numhus
        WHERE d.submission_id = %(submission)s AND d.detail_type = 'INTTEL' AND p.homeeuos = '3'
        """,
        {"submission": ctx.submission_id, "population": population_build(ctx)},
    )


@rule(code="GO.PHONE.05", title="Switchboard or dummy number", severity=Severity.ERROR)
def switchboard_or_dummy(ctx):
    """The number is one of the provider's own switchboard numbers (compared in E.164), or a
    dummy or fictitious number (Ofcom's drama ranges, one digit repeated, ...): give the
    graduate's own number, or none."""
    switchboards, params = _values_table("switchboards", switchboard_e164(_provider(ctx).switchboard_numbers))
    return (
        f"""
        WITH {switchboards}
        SELECT {NO_ID}, {NO_ID}, d.line, d.husid, d.numhus, d.detail_type, d.value,
               d.detail_type || ' ' || d.value
               || CASE WHEN d.normalised IN (SELECT value FROM switchboards)
                       THEN ' is the provider''s own switchboard number'
                       ELSE ' is a dummy or fictitious number' END
               || ', not the graduate''s: give their own number, or none.'
        FROM go_detail d
        WHERE d.submission_id = %(submission)s AND d.detail_type IN ({PHONES})
          AND (d.dummy OR d.normalised IN (SELECT value FROM switchboards))
        """,
        {"submission": ctx.submission_id, **params},
    )


@rule(code="GO.PHONE.06", title="Phone number shared between graduates", severity=Severity.ERROR)
def shared_phone(ctx):
    """The same phone number (compared in E.164, whichever element it is given in) is given for
    two or more graduates of this file, and the provider has recorded no reason for sharing it.
    One failure per graduate involved; recording a reason clears them all, in this and later
    uploads."""
    return _shared(
        ctx,
        family=DetailFamily.PHONE,
        types=PHONES,
        field="p.detail_type",
        noun="number",
        example="e.g. twins sharing a family landline",
    )
