"""gotriage settings, read top to bottom from the environment.

Every setting has a default that works on a bare machine: SQLite in ./data and
Celery tasks run in-process. DATABASE_URL and REDIS_URL switch to PostgreSQL
and real Celery workers without code changes.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A setting from NAME, or from the file NAME_FILE points to (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    return env(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(env(name, str(default)))


DEBUG = envbool("DEBUG", "False")
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not envbool("GOTRIAGE_DEV", "False"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off "
            "(set SECRET_KEY, or DEBUG=1 / GOTRIAGE_DEV=1 for local use)."
        )
    SECRET_KEY = "dev-insecure-secret-key-change-me"

ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]
SITE_URL = env("SITE_URL", "http://localhost:8000").rstrip("/")
DATA_DIR = Path(env("GOTRIAGE_DATA_DIR", str(BASE_DIR / "data")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "apps.services",
    "apps.ingest",
    "apps.goroutines",
    "apps.telemetry",
    "apps.tuning",
    "apps.reports",
    "apps.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.services.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gotriage.urls"
WSGI_APPLICATION = "gotriage.wsgi.application"

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
            ],
        },
    },
]

# --- Database: SQLite by default, PostgreSQL with DATABASE_URL -------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "gotriage.sqlite3",
            # In-process tasks write while requests read: wait for locks
            # instead of failing, and take the write lock up front.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "fleet"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js is served from the installed plotly wheel, not a CDN.
    "apps.web.staticfinders.PlotlyFinder",
]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("GOTRIAGE_STORAGE_DIR", str(DATA_DIR / "uploads")))
STORAGES = {
    # Raw uploads go through the storage API so an S3-style backend can be
    # swapped in by setting GOTRIAGE_STORAGE_BACKEND.
    "default": {
        "BACKEND": env("GOTRIAGE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Celery: in-process without REDIS_URL ----------------------------------
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("GOTRIAGE_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Time limits stay well under the visibility timeout so a lost task comes
# back only after the worker that held it is surely gone.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("GOTRIAGE_VISIBILITY_TIMEOUT", 1800)}
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "apps.ingest.tasks.*": {"queue": "ingest"},
    "apps.goroutines.tasks.*": {"queue": "findings"},
    "apps.tuning.tasks.*": {"queue": "findings"},
    "apps.reports.tasks.*": {"queue": "reports"},
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}  # filled by gotriage/celery.py from app settings

# Shared cache (upload rate limits, task debouncing): Redis when configured.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "gotriage"}}

# --- Email -----------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if env("EMAIL_HOST") else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "gotriage <gotriage@localhost>")

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.services.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.services.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gotriage API",
    "DESCRIPTION": "Upload goroutine dumps and runtime snapshots; read findings, series and recommendations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Ingest limits and retention -------------------------------------------
GOTRIAGE_MAX_UPLOAD_BYTES = envint("GOTRIAGE_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)
GOTRIAGE_MAX_DECOMPRESSED_BYTES = envint("GOTRIAGE_MAX_DECOMPRESSED_BYTES", 256 * 1024 * 1024)
GOTRIAGE_UPLOAD_RATE = env("GOTRIAGE_UPLOAD_RATE", "120/min")
GOTRIAGE_RAW_RETENTION_DAYS = envint("GOTRIAGE_RAW_RETENTION_DAYS", 14)
GOTRIAGE_SAMPLE_RETENTION_DAYS = envint("GOTRIAGE_SAMPLE_RETENTION_DAYS", 90)
GOTRIAGE_STALE_AFTER_MINUTES = envint("GOTRIAGE_STALE_AFTER_MINUTES", 15)
# Pipeline (apps/ingest): sweeper age, poison-message guard, sample thinning,
# the window findings are scored over, and /metrics access.
GOTRIAGE_SWEEP_AFTER_MINUTES = envint("GOTRIAGE_SWEEP_AFTER_MINUTES", 5)
GOTRIAGE_MAX_ATTEMPTS = envint("GOTRIAGE_MAX_ATTEMPTS", 5)
GOTRIAGE_DOWNSAMPLE_AFTER_DAYS = envint("GOTRIAGE_DOWNSAMPLE_AFTER_DAYS", 7)
GOTRIAGE_FINDINGS_WINDOW_HOURS = envint("GOTRIAGE_FINDINGS_WINDOW_HOURS", 24)
GOTRIAGE_METRICS_TOKEN = env("GOTRIAGE_METRICS_TOKEN")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
