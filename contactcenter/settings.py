"""Settings, all read from the environment (see README "Configuration" and .env.example).

The defaults are for `make run` on a developer machine: SQLite, an in-memory channel layer and
a Celery broker on the local filesystem. Production sets DJANGO_DEBUG=false, a real secret key,
hosts, DATABASE_URL (PostgreSQL) and REDIS_URL.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env is optional; real environment variables always win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# --- Django basics -------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    # Off debug there is no fallback: a missing key or host list is a configuration error.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if not SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")

# The public https origin Twilio reaches: signatures, callback URLs and the wss:// relay URL.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in ("http", "https") or not _public.hostname:
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an http(s) origin, e.g. https://cc.example.com")
if _public.hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public.hostname)
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]

INSTALLED_APPS = [
    "daphne",  # first, so runserver serves ASGI (websockets) too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "ninja",
    "axes",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.customers",
    "apps.calls",
    "apps.promises",
    "apps.outreach",
    "apps.collections",
    "apps.approvals",
    "apps.analysis",
    "apps.dispatch",
    "apps.agent",
    "apps.telephony",
    "apps.voice",
    "apps.chat",
    "apps.evals",
    "apps.console",
    "apps.analytics",
    "apps.demo",
]

MIDDLEWARE = [
    "apps.core.middleware.count_requests",  # first: every answer counted (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.api_no_store",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a sign-in it held back into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"
WSGI_APPLICATION = "contactcenter.wsgi.application"
ASGI_APPLICATION = "contactcenter.asgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file under `make run`: WAL and immediate transactions
    # avoid "database is locked" between them.
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Under ASGI a connection must not outlive its request, so requests borrow connections
    # from a per-process pool (psycopg_pool) instead of opening one each time.
    if env.bool("DATABASE_POOL", default=True):
        _db["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": 10,  # seconds to wait for a free connection before failing the request
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker --------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT = 3  # seconds, for every Redis client we configure

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cc",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A socket's listener blocks in BZPOPMIN for 5 s at a time (channels_redis's
                # brpop_timeout): the read timeout must be longer, or every idle listener fails.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                        "socket_timeout": 5 + REDIS_SOCKET_TIMEOUT,
                    }
                ],
                "prefix": "cc",
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest task's hard time limit, so a running task is never redelivered.
        "visibility_timeout": 3600,
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
    }
else:
    # Embedded defaults: one machine, no servers. The in-memory channel layer only reaches
    # consumers in the same process; production uses Redis.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }

# A broker of one's own (e.g. "memory://": the agent evaluation's workers queue tasks that never run).
if _broker := env.str("CELERY_BROKER_URL", default=""):
    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = _broker, {}

# --- Celery ----------------------------------------------------------------------------------

CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Beat's record of each entry's last run (a shelve file; beat makes its folder, see celery.py).
# Every periodic task is an idempotent sweep, so the file may be lost: a beat that starts without
# it runs each entry first one interval later, and a stale one makes overdue entries run at once.
# Point it elsewhere where the project folder is read-only.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
# Beat's daily jobs (the 03:00 risk scoring) follow the business's clock, DST included.
BUSINESS_TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default="America/New_York")
CELERY_TIMEZONE = BUSINESS_TIME_ZONE

# --- Auth, i18n, static ----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The console's sign-in (/accounts/login/) shares its session with the admin's.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/console/"  # each role lands on its home there
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes): every authenticate() goes through its backend, so the admin's
# and the console's sign-in (and any later one) are covered. After AXES_FAILURE_LIMIT failures
# within the cool-off, a username is refused from any address and an address for any username,
# until AXES_COOLOFF_MINUTES pass without another try; the answer is a 429 page
# (apps/accounts/views.py) and a WARNING "AXES: Locking out ..." in the log. Unlock early:
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`, or delete the row in the admin's
# "Access attempts". Failures are kept in the database, so every web process sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Comma-separated; "a+b" counts the two together: "username,ip_address" (default) locks each on its
# own; "username" alone suits an office whose people share one address.
AXES_LOCKOUT_PARAMETERS = [
    item.split("+") if "+" in item else item
    for item in env.list("AXES_LOCKOUT_PARAMETERS", default=["username", "ip_address"])
]
# Failures only expire. Were a right password to clear them, it would clear its address's too:
# anyone with an account could sign in between guesses at another's password from the same address.
AXES_RESET_ON_SUCCESS = False
# A failure during a lock-out does not restart the cool-off: else one wrong password every quarter
# hour, from anywhere, would keep a person locked out for good.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.locked_out"
# The client's address is REMOTE_ADDR only, never a header the client could write. Behind the
# proxy that is the address daphne takes from X-Forwarded-For (--proxy-headers, the leftmost
# entry), so the proxy must set that header itself, not append to the client's (README "Production").
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
# Log lines name the username and address (passwords are never logged).
AXES_SENSITIVE_PARAMETERS = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves straight from the finders (no STATIC_ROOT): no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

# --- Security (off debug; `manage.py check --deploy --fail-level WARNING` passes) -----------

# Request bodies: refused with 413 before Django reads them (apps/core/body_limit.py), Twilio's
# webhooks (small form posts) at a tighter limit. Nothing here uploads files, so Django's own
# limit on what it reads into memory is the same number.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=2_621_440)  # 2.5 MiB
TWILIO_MAX_REQUEST_BYTES = env.int("TWILIO_MAX_REQUEST_BYTES", default=1_048_576)  # 1 MiB
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

# Content-Security-Policy on every page (django-csp): scripts, styles, images and connections from
# this origin only (CSP's 'self' covers ws:/wss: to it), no inline script or style, no plugins,
# no framing. A page that must run an inline script gives it the request's nonce
# (<script nonce="{{ CSP_NONCE }}">). The admin and the API docs (ninja's own Swagger UI files)
# run under it as they are (tests/browser/test_csp_in_chromium.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
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

X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # load balancers and Prometheus reach them over plain http
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Card numbers, CVVs and SSNs never reach the logs, whatever logged them.
    "filters": {"redact": {"()": "apps.core.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # The HTTP clients under openai and twilio log every request at INFO: too much for a live call.
    # (axes.apps: django-axes's banner, at every process start.)
    "loggers": {
        name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore", "httpcore2", "twilio", "axes.apps")
    },
}

# --- Operators' telemetry (README "Operators' telemetry") -------------------------------------

# OpenTelemetry traces over OTLP/HTTP (apps/core/telemetry.py): unset, nothing is recorded or sent.
# The exporter reads the other standard variables itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
# _COMPRESSION, OTEL_SERVICE_NAME...).
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default="")
# GET /metrics (apps/core/metrics.py): a bearer token, an allow-list of addresses or networks, or
# both (each set must pass); with neither it answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Where every process on a machine keeps its metrics (prometheus-client's multiprocess mode), added
# up by /metrics. prometheus-client reads it from the environment when it is first imported.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR

# --- Product ---------------------------------------------------------------------------------

NINJA_PAGINATION_CLASS = "apps.core.pagination.LimitOffsetPagination"  # offset bounded too
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")

# How long a single health probe may wait on a dependency before it counts as down.
HEALTH_CHECK_TIMEOUT = 3

# --- The live agent: LLM, fallbacks and guardrails -----------------------------------------------

# Any OpenAI-compatible endpoint. Unset key and base URL: the built-in offline engine answers.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4.1-mini")
# Tried in order after LLM_MODEL: "model" (same endpoint) or "model@https://other-endpoint/v1".
LLM_FALLBACK_MODELS = env.list("LLM_FALLBACK_MODELS", default=["gpt-4o-mini"])
# Live turns: a model that has not started answering by then is skipped for the next one.
LLM_CONNECT_TIMEOUT = env.float("LLM_CONNECT_TIMEOUT", default=2.0)
LLM_FIRST_TOKEN_TIMEOUT = env.float("LLM_FIRST_TOKEN_TIMEOUT", default=4.0)
LLM_STREAM_IDLE_TIMEOUT = env.float("LLM_STREAM_IDLE_TIMEOUT", default=5.0)
# One time budget per turn, across the whole chain: the caller hears the first words this many
# seconds after they stopped speaking, whatever the models do (the offline engine answers, or a
# holding phrase is said while a tool path completes). No fallback model starts after it.
LLM_TURN_FIRST_AUDIO_S = env.float("LLM_TURN_FIRST_AUDIO_S", default=1.2)
# After a holding phrase ("One moment while I check that."), how long the model has to start
# answering before the offline engine does: about as long as the phrase takes to say.
LLM_TURN_HOLD_S = env.float("LLM_TURN_HOLD_S", default=2.0)
# Circuit breakers per model and endpoint, shared through the cache: after this many timeouts,
# 5xx or 429 within the window, when they are at least this share of its requests, the endpoint
# is skipped for the cool-down, then one probe.
BREAKER_FAILURES = env.int("BREAKER_FAILURES", default=3)
BREAKER_FAILURE_RATE = env.float("BREAKER_FAILURE_RATE", default=0.5)
BREAKER_WINDOW_S = env.int("BREAKER_WINDOW_S", default=120)
BREAKER_COOLDOWN_S = env.float("BREAKER_COOLDOWN_S", default=30.0)
# USD per million tokens (input, output), for cost traces and budgets.
LLM_PRICES = env.json(
    "LLM_PRICES",
    default={
        "gpt-4.1-mini": [0.40, 1.60],
        "gpt-4.1": [2.00, 8.00],
        "gpt-4o-mini": [0.15, 0.60],
        "gpt-4o": [2.50, 10.00],
    },
)

AGENT_NAME = env.str("AGENT_NAME", default="Ava")
COMPANY_NAME = env.str("COMPANY_NAME", default="Northwind Auto Finance")
# Said in every greeting, inbound and outbound, before anything else: what the caller must be told.
AGENT_DISCLOSURE = env.str("AGENT_DISCLOSURE", default="I'm an AI assistant, and this call is recorded.")
AGENT_MAX_INPUT_CHARS = 1000
# Seconds a tool may wait on the database during a live turn before it counts as unavailable.
AGENT_TOOL_DB_TIMEOUT = env.float("AGENT_TOOL_DB_TIMEOUT", default=2.0)
# A turn's save that fails (the database stalls or is down) is retried with backoff for this
# long; the next prompt is answered only once the state it builds on is stored.
AGENT_SAVE_RETRY_S = env.float("AGENT_SAVE_RETRY_S", default=4.0)
AGENT_CALL_TOKEN_BUDGET = env.int("AGENT_CALL_TOKEN_BUDGET", default=60000)
AGENT_CALL_COST_BUDGET = env.float("AGENT_CALL_COST_BUDGET", default=0.50)
AGENT_TURNS_PER_MINUTE = env.int("AGENT_TURNS_PER_MINUTE", default=20)
AGENT_CONVERSATIONS_PER_HOUR = env.int("AGENT_CONVERSATIONS_PER_HOUR", default=10)
# Candidate workflow definitions this release ships beside the current ones ("module:ATTRIBUTE",
# comma-separated; README "Staged rollout"). Which calls get one: the admin's Rollout row, and
# only once `eval_agent --candidate` passed for its exact version.
AGENT_CANDIDATES = env.list("AGENT_CANDIDATES", default=[])
# Workflows whose candidate every conversation of this process runs, no Rollout asked: set by
# `eval_agent --candidate` for its worker processes only.
AGENT_RUN_CANDIDATES = env.list("AGENT_RUN_CANDIDATES", default=[])
# Turns in a row the agent could not make sense of before it hands off to a person.
AGENT_MAX_MISUNDERSTANDINGS = 3

# --- Telephony: Twilio voice and ConversationRelay ------------------------------------------------

# Unset: dialing and SMS are disabled (with a clear error), and Twilio's webhooks are refused.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Another base URL for Twilio's REST API (staging, or a local fake in tests). Empty: Twilio's own.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="").rstrip("/")
TWILIO_HTTP_TIMEOUT = env.float("TWILIO_HTTP_TIMEOUT", default=10.0)
# Twilio places an account's outbound calls at its calls-per-second rate and queues the rest on its
# side; the dialer hands it no more than this, across all workers (apps/twilio/pacing.py).
TWILIO_CALLS_PER_SECOND = env.float("TWILIO_CALLS_PER_SECOND", default=1.0)
if TWILIO_CALLS_PER_SECOND <= 0:
    raise ImproperlyConfigured("TWILIO_CALLS_PER_SECOND must be above 0.")
# The SharedKey secret, when webhooks are signed with HMAC-SHA256 (X-Twilio-Webhooks-Signature-Settings).
TWILIO_WEBHOOK_SECRET = env.str("TWILIO_WEBHOOK_SECRET", default="")

# Where a handoff goes: a person's number, or (unset) a Twilio queue with a message.
HUMAN_AGENT_NUMBER = env.str("HUMAN_AGENT_NUMBER", default="")
HANDOFF_QUEUE = env.str("HANDOFF_QUEUE", default="specialists")

# Which workflow answers which of our numbers (JSON {"+14155550100": "roadside"}); others get the default.
INBOUND_WORKFLOWS = env.json("INBOUND_WORKFLOWS", default={})
INBOUND_DEFAULT_WORKFLOW = env.str("INBOUND_DEFAULT_WORKFLOW", default="collections")

# ConversationRelay attributes, pinned (Twilio's defaults have changed before).
RELAY_LANGUAGE = env.str("RELAY_LANGUAGE", default="en-US")
RELAY_TTS_PROVIDER = env.str("RELAY_TTS_PROVIDER", default="Google")
RELAY_VOICE = env.str("RELAY_VOICE", default="en-US-Journey-O")
RELAY_TRANSCRIPTION_PROVIDER = env.str("RELAY_TRANSCRIPTION_PROVIDER", default="Deepgram")
RELAY_SPEECH_MODEL = env.str("RELAY_SPEECH_MODEL", default="nova-3-general")
RELAY_INTERRUPTIBLE = env.str("RELAY_INTERRUPTIBLE", default="any")
RELAY_DTMF_DETECTION = env.bool("RELAY_DTMF_DETECTION", default=True)
RELAY_REPORT_INPUT_DURING_AGENT_SPEECH = env.str("RELAY_REPORT_INPUT_DURING_AGENT_SPEECH", default="none")
# When a call's relay socket fails (a web process died mid-call), Twilio ends the <Connect>; the
# call is reconnected to the agent this many times, then handed to a person.
RELAY_RECONNECTS = env.int("RELAY_RECONNECTS", default=2)
# Each relay socket's URL carries a one-time token bound to its call; Twilio connects right after
# it fetched the TwiML, so the token expires this many seconds after it was issued.
RELAY_TOKEN_TTL_S = env.int("RELAY_TOKEN_TTL_S", default=120)

# Outbound calls: the longest a call may last, and when a call stuck in a live status is
# checked against Twilio (missed status callbacks).
OUTBOUND_CALL_TIME_LIMIT = env.int("OUTBOUND_CALL_TIME_LIMIT", default=900)
CALL_RECONCILE_AFTER_MINUTES = env.int("CALL_RECONCILE_AFTER_MINUTES", default=30)
# When answering-machine detection hears a machine on an outbound call: leave a limited-content
# message (who to call back, nothing about a debt: Regulation F) or hang up.
OUTBOUND_VOICEMAIL = env.str("OUTBOUND_VOICEMAIL", default="message")
if OUTBOUND_VOICEMAIL not in ("message", "hang_up"):
    raise ImproperlyConfigured(f"OUTBOUND_VOICEMAIL must be message or hang_up, not {OUTBOUND_VOICEMAIL!r}.")
OUTBOUND_VOICEMAIL_TEXT = env.str("OUTBOUND_VOICEMAIL_TEXT", default="")

# --- Post-call analysis -----------------------------------------------------------------------------

# A call is worth analysing (and spending on) when it had this many exchanges (a caller turn
# answered), lasted this long, and both sides spoke.
ANALYSIS_MIN_EXCHANGES = env.int("ANALYSIS_MIN_EXCHANGES", default=2)
ANALYSIS_MIN_SECONDS = env.int("ANALYSIS_MIN_SECONDS", default=30)
# The analysis model chain: LLM_ANALYSIS_MODEL, then LLM_FALLBACK_MODELS (same syntax as the agent's).
ANALYSIS_MODEL = env.str("LLM_ANALYSIS_MODEL", default="") or LLM_MODEL
ANALYSIS_TIMEOUT = env.float("ANALYSIS_TIMEOUT", default=30.0)
# Below this confidence (0-100) a field sends the call to the review queue.
ANALYSIS_REVIEW_THRESHOLD = env.int("ANALYSIS_REVIEW_THRESHOLD", default=70)

# --- Outbound follow-ups and calling compliance ----------------------------------------------------

# The AI calls only inside this window in the customer's local time (TCPA: 8 a.m. to 9 p.m.).
CALLING_WINDOW_START = env.str("CALLING_WINDOW_START", default="08:00")
CALLING_WINDOW_END = env.str("CALLING_WINDOW_END", default="21:00")
# Regulation F: more than 7 attempts in 7 days about one debt is presumed harassment.
CALLING_MAX_ATTEMPTS_7_DAYS = env.int("CALLING_MAX_ATTEMPTS_7_DAYS", default=7)
# A follow-up call that found no one is tried again after this, doubling each time (capped at a day).
FOLLOWUP_RETRY_MINUTES = env.int("FOLLOWUP_RETRY_MINUTES", default=60)

# --- Promises ---------------------------------------------------------------------------------------

# An open promise becomes broken this many days after its due date (in the customer's calendar)
# when it is still not paid in full; a payment in the grace period keeps it.
PROMISE_GRACE_DAYS = env.int("PROMISE_GRACE_DAYS", default=3)
