"""Settings of the gunicorn servers the reliability tests start (never of the test process).

The test process passes its test database as ``RELIABILITY_DB_URL``. Persistent connections
with health checks, as a production site runs; ``RELIABILITY_STATEMENT_TIMEOUT_MS`` sets
PostgreSQL's ``statement_timeout`` on every connection of the server. Throttling is off here
(tests/reliability/test_abuse.py tests it): dozens of clients share one API user.
"""

import os

import dj_database_url

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ["RELIABILITY_DB_URL"], conn_max_age=60, conn_health_checks=True
    )
}
if os.environ.get("RELIABILITY_STATEMENT_TIMEOUT_MS"):
    DATABASES["default"]["OPTIONS"] = {
        "options": f"-c statement_timeout={int(os.environ['RELIABILITY_STATEMENT_TIMEOUT_MS'])}"
    }

ALLOWED_HOSTS = ["127.0.0.1"]
DJANGO_LIVECHAT = {"THROTTLE_RATES": {"user": None, "visitor": None, "auth_failure": None}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        "django_livechat": {"handlers": ["console"], "level": "ERROR"},
    },
}
