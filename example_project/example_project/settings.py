"""Settings of the django-livechat-api example project.

A demo, not a production configuration: DEBUG is on and the secret key has a development default.
The database is SQLite (example_project/db.sqlite3) unless DATABASE_URL is set, e.g.
``DATABASE_URL=postgres://livechat:livechat@127.0.0.1:5432/livechat``.
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-example-project-only-never-use-in-production"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_livechat",
    "django_tasks_db",
    "demo",
]

# The OpenAPI schema (/api/schema/) and its docs pages (/api/docs/, /api/redoc/) need the optional
# extra: pip install "django-livechat-api[openapi]" (drf-spectacular, drf-spectacular-sidecar).
# Without it the example runs as well, just without those pages.
OPENAPI = all(
    importlib.util.find_spec(name) for name in ("drf_spectacular", "drf_spectacular_sidecar")
)
if OPENAPI:
    INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
    SPECTACULAR_SETTINGS = {
        # Swagger UI and Redoc served from this site (drf-spectacular-sidecar), not from a CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.config()}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # django_livechat relies on IMMEDIATE transactions on SQLite: a request takes the
            # write lock when its transaction starts, so concurrent posts are serialised and
            # message timestamps stay strictly increasing within a room.
            "OPTIONS": {"transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # demo credentials are admin/admin

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# django_livechat's settings, all optional. The available keys (defaults in brackets):
#   "MAX_MESSAGES": most messages one request may carry [1000]
#   "MAX_MESSAGE_LENGTH": most characters in one message [5000]
# Unknown keys are rejected by the app's system checks; see the README for the full list.
DJANGO_LIVECHAT: dict[str, object] = {}

# Webhooks (admin: Livechat > Webhook endpoints) are sent by Django's Tasks framework. The
# database backend (package django-tasks-db) stores each task; a worker sends them:
#   python example_project/manage.py db_worker
# (Django 6 has django.tasks built in; on Django 5.2 the django-tasks backport provides it.)
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
