"""WarmCRM settings: one file, read from the environment.

Every default is the embedded, zero-setup one (SQLite in the project folder, Celery on kombu's
filesystem broker in ./var/celery). Production changes only environment variables; see README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-warmcrm-demo-key-not-for-production")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    # Production refuses to start on the demo key or an open host list.
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random string of at least 50 characters.")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS to the host names this site is served on.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_filters",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "warmcrm",
    "leads",
    "referrals",
    "calls",
    "warmcrm.api",
    "warmcrm.dashboard",
    "warmcrm.accounts",
    "warmcrm.hygiene",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "warmcrm.accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "warmcrm.urls"
WSGI_APPLICATION = "warmcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "warmcrm.context_processors.role",
                "warmcrm.accounts.context_processors.due_badge",
            ],
        },
    },
]

# --- Database: SQLite in the project folder unless DATABASE_URL says otherwise -----------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs web, worker and beat on one SQLite file: WAL lets readers and one writer share it,
    # IMMEDIATE transactions make writers queue (with a timeout) instead of failing with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # On few busy cores PostgreSQL's parallel workers for small web queries cost more than they save: 0 gave
    # 1.4x the call-log POSTs per second on 2 cores (docs/benchmarks.md, Load). Unset keeps the server's value.
    _parallel = env("DATABASE_MAX_PARALLEL_WORKERS_PER_GATHER", default="")
    if _parallel:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c max_parallel_workers_per_gather={int(_parallel)}"
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before the password check
    "django.contrib.auth.backends.ModelBackend",
    "leads.roles.AdminRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes): N failed logins for one username from one address lock that pair out
# for a cool-off; the login page and the Django admin's login say so. Admins unlock in Admin -> Access attempts
# (or `manage.py axes_reset_username NAME`). A successful login clears the pair's failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "warmcrm.login_throttle.lockout_response"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Uploads: admins import large trade-show lists; anything above this is refused with a message.
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="US")
# An import file at least this big is read and judged in a child process of its own (leads.import_reader);
# a smaller one in a thread, where starting a process would cost more than it saves.
IMPORT_READER_PROCESS_MIN_BYTES = env.int("IMPORT_READER_PROCESS_MIN_BYTES", default=1024 * 1024)

# --- Production hardening (all on unless DEBUG) ----------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages carry the token in the form and in <body hx-headers>; no script reads the cookie
# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no inline code, no
# framing. htmx, Chart.js, Swagger UI (drf-spectacular-sidecar) and the Django admin all load from files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the favicon placeholder and the admin's and Swagger UI's inline SVG icons
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        AXES_CLIENT_IP_CALLABLE = "warmcrm.login_throttle.client_address"  # else every login shares the proxy's

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts are warnings; every successful login is not news
    },
}

# --- Celery: filesystem broker in ./var/celery unless CELERY_BROKER_URL says otherwise ------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = Path(env("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "celery")))
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis hands a message a worker took but never acknowledged (acks_late; the worker was killed) to another
    # worker once it is this many seconds old, found by a sweep every CELERY_UNACKED_RESTORE_SECONDS. The timeout
    # must exceed the longest task (a chunk's limit is 11 minutes), or a task still running starts a second
    # time; the catch-up job resumes a killed import sooner. The socket timeouts stop a publish from waiting
    # forever on a broker that vanished without closing the connection.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=60),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="warmcrm")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task running when the worker loses Redis finishes (its writes are idempotent); its lost acknowledgement
# only means Redis hands it out once more after the visibility timeout. Pinned: Celery 6 turns it on, which
# would cancel a running import at every Redis blip (docs/architecture.md, Failures).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Warmth and follow-ups (docs/warmth.md explains each number) --------------------------------
# Any field of leads.warmth.Weights, e.g. WARMTH_WEIGHTS='{"decay_points_max": 30, "hot_from": 75}'.
WARMTH_WEIGHTS = env.json("WARMTH_WEIGHTS", default={})
# A lead with no two-way conversation for this many days (by band) and no open follow-up is stale.
STALE_AFTER_DAYS = {
    "hot": env.int("STALE_AFTER_DAYS_HOT", default=3),
    "warm": env.int("STALE_AFTER_DAYS_WARM", default=7),
    "lukewarm": env.int("STALE_AFTER_DAYS_LUKEWARM", default=21),
    "cold": env.int("STALE_AFTER_DAYS_COLD", default=60),
}
CONTACT_FREQUENCY_CAP_DAYS = env.int("CONTACT_FREQUENCY_CAP_DAYS", default=2)
NO_ANSWER_RETRY_DAYS = env.int("NO_ANSWER_RETRY_DAYS", default=2)
NO_ANSWER_MAX_RETRIES = env.int("NO_ANSWER_MAX_RETRIES", default=5)
NOT_INTERESTED_COOL_OFF_DAYS = env.int("NOT_INTERESTED_COOL_OFF_DAYS", default=90)
CALL_BACK_HOUR = env.int("CALL_BACK_HOUR", default=9)  # local hour a requested call-back date is due
WARMTH_RECOMPUTE_MINUTES = env.float("WARMTH_RECOMPUTE_MINUTES", default=60)
WARMTH_CHUNK_SIZE = env.int("WARMTH_CHUNK_SIZE", default=20_000)
CELERY_BEAT_SCHEDULE = {
    "recompute-all-warmth": {
        "task": "leads.tasks.warmth_recompute_all",
        "schedule": WARMTH_RECOMPUTE_MINUTES * 60.0,
    },
    # Redoes what a lost message left undone: stalled imports, referrers whose rescore never ran.
    "catch-up": {"task": "leads.tasks.catch_up", "schedule": env.float("CATCH_UP_MINUTES", default=2) * 60.0},
}
# An import whose worker has not reported for this long has lost it; the catch-up queues it again.
IMPORT_STALE_AFTER_SECONDS = env.int("IMPORT_STALE_AFTER_SECONDS", default=120)
# The dashboard's "moved band this week" compares today's band counts with the snapshot of a week ago.
CELERY_BEAT_SCHEDULE["dashboard-band-snapshot"] = {
    "task": "warmcrm.dashboard.tasks.band_snapshot_take",
    "schedule": crontab(hour=env.int("BAND_SNAPSHOT_HOUR", default=1), minute=5),
}
# The funnel, connection, events, referrer and band panels read a summary rebuilt this often (seconds); the page
# rebuilds it itself when it finds it older than the max age (beat stopped, a fresh install).
DASHBOARD_SUMMARY_SECONDS = env.int("DASHBOARD_SUMMARY_SECONDS", default=120)
DASHBOARD_SUMMARY_MAX_AGE_SECONDS = env.int("DASHBOARD_SUMMARY_MAX_AGE_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["dashboard-summary"] = {
    "task": "warmcrm.dashboard.tasks.summary_rebuild",
    "schedule": float(DASHBOARD_SUMMARY_SECONDS),
    "options": {"expires": DASHBOARD_SUMMARY_SECONDS},  # a backlog of rebuilds is one rebuild's worth
}

# --- Email: the console in the demo, SMTP in production (EMAIL_URL=smtp+tls://user:pass@host:587) -
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="WarmCRM <warmcrm@localhost>")

# --- API (warmcrm/api): tokens or the session, one error shape, a rate limit per token ------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "warmcrm.api.authentication.BearerTokenAuthentication",  # first, so anonymous calls get 401
        "rest_framework.authentication.SessionAuthentication",  # the browser; enforces CSRF on writes
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "warmcrm.api.permissions.IsSalesTeam",
        "warmcrm.api.permissions.TokenKindAllowed",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["warmcrm.api.throttling.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "warmcrm.api.pagination.ApiPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["warmcrm.api.parsers.JsonParser"],  # DRF's, with a 400 for JSON nested too deep
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "warmcrm.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/min")  # per API token (per user for the session)
# The rate-limit counters live in the cache: per process by default; CACHE_URL=redis://host:6379/1 shares them
# between web processes (Django's own Redis backend; the redis client comes with celery[redis]).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
INBOUND_FOLLOW_UP_MINUTES = env.int("INBOUND_FOLLOW_UP_MINUTES", default=60)  # inbound leads go stale fastest
SPECTACULAR_SETTINGS = {
    "TITLE": "WarmCRM API",
    "DESCRIPTION": "Leads, calls, follow-ups, referrals and events, scoped exactly as in the browser.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"FollowUpStatusEnum": "leads.models.FollowUp.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "warmcrm.api.schema.add_error_responses",
    ],
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Reminders, escalation and duplicates (warmcrm/accounts, warmcrm/hygiene; README explains each) ---
SITE_URL = env("SITE_URL", default="http://localhost:8000")  # the digest's links are absolute
DIGEST_DEFAULT_HOUR = env.int("DIGEST_DEFAULT_HOUR", default=7)  # local hour for new profiles
HYGIENE_ESCALATE_OVERDUE_DAYS = env.int("HYGIENE_ESCALATE_OVERDUE_DAYS", default=2)
HYGIENE_ESCALATE_STALE_MULTIPLE = env.float("HYGIENE_ESCALATE_STALE_MULTIPLE", default=2)
HYGIENE_FUZZY_THRESHOLD = env.int("HYGIENE_FUZZY_THRESHOLD", default=90)  # 0-100, rapidfuzz name + company score
CELERY_BEAT_SCHEDULE["morning-digests"] = {
    "task": "warmcrm.accounts.tasks.digests_send_due",
    "schedule": crontab(minute="*/15"),
}
CELERY_BEAT_SCHEDULE["find-duplicate-leads"] = {
    "task": "warmcrm.hygiene.tasks.duplicates_find",
    "schedule": crontab(hour=env.int("HYGIENE_DUPLICATES_HOUR", default=2), minute=30),
}
