"""Settings, read from the environment (django-environ). See README for the variables."""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.brokers import FILESYSTEM_BROKER, filesystem_transport_options

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # The demo key is published in this repository: never sign production sessions with it.
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env (at least 50 random characters, e.g. "
            "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'). "
            "For local development only, DEBUG=1 uses a built-in demo key (./scripts/demo sets DEBUG=1)."
        )
    SECRET_KEY = "insecure-demo-key-change-me-3f9c1d0a7b5e4c2d8e6f1a0b9c8d7e6f"  # noqa: S105 (DEBUG only)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "accounts",
    "portal",
    "collections_app",
    "student_record",
    "hin",
    "credibility",
    "contacts",
    "audit",
    "review",
    "survey",
]

MIDDLEWARE = [
    # Request latency by view and response counts for /metrics (django-prometheus): first and last.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The request id (X-Request-ID), user and provider on every log line of the request and its tasks.
    "portal.middleware.RequestLogContextMiddleware",
    # A page for a 405 (an action's address opened in the browser), where Django answers with nothing.
    "portal.middleware.MethodNotAllowedPageMiddleware",
    # Marks a session verified once its second factor (TOTP code) was entered.
    "django_otp.middleware.OTPMiddleware",
    # A survey platform session gets 403 on every page (its token reads the survey feed only).
    "accounts.middleware.ServiceAccountMiddleware",
    # A user with an authenticator app gets no page until the session has its code (and, with
    # REQUIRE_LIAISON_OTP, liaison staff none until they have set one up).
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Keep each thread's connection between requests: a new PostgreSQL connection per request costs a
# backend start and cold catalog caches (several ms of planning) on every page. Checked before reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=300))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The pipeline writes while pages poll for progress: wait for the lock, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # The demo's worker writes while the web process reads: in WAL mode readers never wait.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# API throttle counts live in the cache: with several web processes it must be shared (Redis),
# or each process counts on its own.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in for a locked-out account or address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT failed sign-ins within the cool-off
# time, the account (from any address) and the address (for any account) are refused until the
# cool-off has passed since the last counted failure. Attempts during a lockout do not extend it.
# AXES_LOCKOUT_PARAMETERS: comma-separated; "username+ip_address" locks only that combination.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [
    group.split("+") if "+" in group else group
    for group in env.list("AXES_LOCKOUT_PARAMETERS", default=["username", "ip_address"])
]
if {p for g in AXES_LOCKOUT_PARAMETERS for p in ([g] if isinstance(g, str) else g)} - {"username", "ip_address"}:
    raise ImproperlyConfigured(
        "AXES_LOCKOUT_PARAMETERS takes username and ip_address, comma-separated, or joined with + to lock "
        "only the combination, e.g. username,ip_address or username+ip_address."
    )
# Not reset by a successful sign-in: it would clear every failure from that address, so one
# could guess another account's password between sign-ins to one's own.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
# Proxies in front of the portal that append to X-Forwarded-For (the client address for lockouts
# and API throttles is taken that many entries from the right). 0: the connection's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Second factor (django-otp, TOTP): anyone may set up an authenticator app on their account page;
# then signing in asks for its code after the password. With REQUIRE_LIAISON_OTP liaison staff
# must set one up before using the portal. Wrong codes are throttled per device (1, 2, 4, ... s).
REQUIRE_LIAISON_OTP = env.bool("REQUIRE_LIAISON_OTP", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Returns portal")
OTP_TOTP_THROTTLE_FACTOR = 1
# Password reset links (emailed through EMAIL_BACKEND) work once, for this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["portal.formats"]
DATE_FORMAT = "j M Y"  # 21 Jul 2024
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files: the local disk under MEDIA_ROOT (default), or an S3-compatible object store, so
# web and workers on different machines need no shared disk (FILE_STORAGE=s3; see README).
FILE_STORAGE = env.str("FILE_STORAGE", default="filesystem")
if FILE_STORAGE == "s3":
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="eu-west-2"),
            # None: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, instance roles).
            "access_key": env.str("S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("S3_SECRET_KEY", default="") or None,
            "location": env.str("S3_LOCATION", default=""),
            "default_acl": None,  # private: the bucket's policy decides
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
elif FILE_STORAGE == "filesystem":
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(f"FILE_STORAGE must be 'filesystem' or 's3', not {FILE_STORAGE!r}.")
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Uploads: spool to disk beyond 2.5 MB. The size limit is enforced while the body is read (the
# first upload handler stops reading once the declared length or the file's bytes pass it), and
# checked again in the upload service.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "collections_app.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# PostgreSQL work_mem for the set-based rules (each runs in its own transaction).
RULES_WORK_MEM = env.str("RULES_WORK_MEM", default="64MB")
# Schema errors reported per submission before the parser stops listing them.
SCHEMA_ERROR_CAP = env.int("SCHEMA_ERROR_CAP", default=1000)
# Graduate Outcomes contact details: look up each email domain's DNS records (GO.EMAIL.12)? The spec
# says no DNS; on at ingest it would cost a lookup per domain and make results depend on the network.
CONTACTS_EMAIL_CHECK_DELIVERABILITY = env.bool("CONTACTS_EMAIL_CHECK_DELIVERABILITY", default=False)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@returns.example")
# Where the portal is reached: the links in notification emails are absolute (the worker sends some).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://localhost:8000")

# Celery: no broker configured means tasks run in-process, eagerly (the demo default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
# Broker outages (issue 15): workers and beat retry Redis for as long as it is away, at start-up too
# (by default they give up and exit after 100 attempts, about 46 minutes). A job whose broker
# connection drops keeps running: its work goes to PostgreSQL, and a restarted Redis without
# persistence has lost its message, so cancelling it (Celery 6's default) would lose the job.
# Celery is pinned below 5.7 in pyproject.toml: 5.7.0's worker exits when Redis drops mid-job.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# The broker redelivers an unacknowledged task after this; the pipeline does not wait for it
# (see the sweep below), it only has to be longer than any job.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
if CELERY_BROKER_URL == FILESYSTEM_BROKER:
    # The demo's broker when no Redis answers (portal/brokers.py): messages are files in a folder.
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_transport_options(
        Path(env.str("BROKER_FOLDER", default=str(BASE_DIR / "var" / "broker")))
    )

# Pipeline jobs (collections_app.pipeline.runner, services.submissions_sweep). A running job
# writes heartbeat_at every HEARTBEAT_INTERVAL seconds from a thread of its own; the sweep
# re-queues a job silent for HEARTBEAT_TIMEOUT seconds (its worker is gone), and after
# MAX_ATTEMPTS runs that never finished leaves it in `error` for the provider to retry. A queued
# submission whose task could not be sent (broker down) is sent again once QUEUED_TIMEOUT
# seconds old; one whose task was sent but never started, every RESEND_AFTER seconds.
PIPELINE_HEARTBEAT_INTERVAL = env.float("PIPELINE_HEARTBEAT_INTERVAL", default=15.0)
PIPELINE_HEARTBEAT_TIMEOUT = env.float("PIPELINE_HEARTBEAT_TIMEOUT", default=90.0)
PIPELINE_MAX_ATTEMPTS = env.int("PIPELINE_MAX_ATTEMPTS", default=3)
PIPELINE_QUEUED_TIMEOUT = env.float("PIPELINE_QUEUED_TIMEOUT", default=60.0)
PIPELINE_RESEND_AFTER = env.float("PIPELINE_RESEND_AFTER", default=300.0)
PIPELINE_SWEEP_INTERVAL = env.float("PIPELINE_SWEEP_INTERVAL", default=60.0)

# Health (/health/ready): a worker must have answered beat's ping within WORKER_PING_MAX_AGE s;
# the broker must accept a connection within HEALTH_BROKER_TIMEOUT s.
WORKER_PING_INTERVAL = env.float("WORKER_PING_INTERVAL", default=15.0)
WORKER_PING_MAX_AGE = env.float("WORKER_PING_MAX_AGE", default=60.0)
HEALTH_BROKER_TIMEOUT = env.float("HEALTH_BROKER_TIMEOUT", default=2.0)
# Retention (issue 14): a superseded submission's record and failure rows are removed this many
# days after it was superseded (its file, counts, per-rule summary and audit stay; it can be
# re-loaded). Approved or signed-off submissions, and anyone's current data, are never touched.
RETENTION_SUPERSEDED_DAYS = env.int("RETENTION_SUPERSEDED_DAYS", default=30)
# Rows deleted per short transaction, so uploads writing the same tables are never held up.
RETENTION_BATCH = env.int("RETENTION_BATCH", default=5000)
# Big CSVs of a finished run (the HIN Target List) are written once per web host to this private
# folder and then served as files (collections_app.exports.settled_csv). They hold personal data:
# removed with the run's rows at retention, and at the latest this many hours after writing.
EXPORT_CACHE_DIR = Path(env.str("EXPORT_CACHE_DIR", default=str(BASE_DIR / "var" / "exports")))
EXPORT_CACHE_HOURS = env.float("EXPORT_CACHE_HOURS", default=24.0)

CELERY_BEAT_SCHEDULE = {
    # Nightly retention: removes superseded submissions' rows past RETENTION_SUPERSEDED_DAYS.
    "retention": {
        "task": "portal.retention",
        "schedule": crontab(hour=2, minute=30),
    },
    # Re-queue jobs whose worker was lost and send tasks the broker never got (see above).
    "sweep-submissions": {
        "task": "collections.sweep_submissions",
        "schedule": PIPELINE_SWEEP_INTERVAL,
        # While every worker is busy the sweeps wait in the queue: one is enough.
        "options": {"expires": PIPELINE_SWEEP_INTERVAL},
    },
    # Deadline reminders and the liaison digest: daily (London time), and safe to re-run.
    "review-deadline-reminders": {
        "task": "review.send_deadline_reminders",
        "schedule": crontab(hour=8, minute=0),
    },
    "review-liaison-digest": {"task": "review.send_liaison_digest", "schedule": crontab(hour=8, minute=15)},
    # The worker's heartbeat for /health/ready (portal/health.py): whichever worker takes it stamps
    # the time; a ping nobody took within its interval is dropped, not piled up.
    "worker-ping": {
        "task": "portal.worker_ping",
        "schedule": WORKER_PING_INTERVAL,
        "options": {"expires": WORKER_PING_INTERVAL},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "accounts.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.AnonymousThrottle",
    ],
    # Signed-in people only: the survey platform's service account is refused everywhere but its feed.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsPortalUser"],
    # Token clients and signed-in users, per user. Anonymous requests are throttled by the last
    # authentication class (before the permission check answers 401), and failed token
    # authentications per address by the token class itself.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "token_failure": env.str("API_THROTTLE_BAD_TOKEN", default="10/min"),
    },
    # Never None: DRF would then key anonymous clients on the whole, spoofable, X-Forwarded-For.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Refusals (core.errors.ActionRefused) become {"code", "detail"} answers.
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # An unknown ?format= is 406 (naming the CSV download where there is one), not DRF's 404.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.PortalNegotiation",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Returns portal API",
    "DESCRIPTION": "Collections, submissions, quality-rule failures and schema errors.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the sidecar package: the portal works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # AnonymousThrottle is an authentication class only to run early: not a scheme to document.
    "AUTHENTICATION_WHITELIST": [
        "accounts.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# Logs: every line carries the request id, user, provider and submission id it was written for
# (core/logs.py), in the web process and the worker alike. LOG_FORMAT=json: one JSON object a
# line, for a log store; plain: readable lines (the default with DEBUG=1, i.e. the demo).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "plain": {"()": "core.logs.PlainFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# The worker logs through the same handler (Celery would otherwise install its own format).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics (/metrics, portal/metrics.py): a scraper sends METRICS_TOKEN as a bearer token, or comes
# from one of METRICS_ALLOWED_NETWORKS (comma-separated, e.g. 10.0.0.0/8; the client address as
# TRUSTED_PROXY_COUNT says). With neither set /metrics answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(n, strict=False) for n in env.list("METRICS_ALLOWED_NETWORKS", default=[])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc} (e.g. 10.0.0.0/8,127.0.0.1/32)") from exc

# HTTPS. With DEBUG=0 cookies are Secure and HSTS is sent (browsers honour it only over HTTPS;
# both also work on http://localhost). Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER
# (e.g. HTTP_X_FORWARDED_PROTO,https) so Django knows the request was secure.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and the scraper speak plain HTTP to the container, behind the proxy.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER takes a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
if not DEBUG:
    X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp): scripts and styles only from the portal's own static
# files, no inline code; Swagger UI's sidecar assets are static files too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# The Target List's covering index (student_record.Instance) INCLUDEs columns on PostgreSQL; on
# SQLite (the demo) it is a plain index, which is all SQLite needs: the check's warning is noise.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
