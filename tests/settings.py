"""Settings for the test suite: the product's own settings, plus what only tests need.

DATABASE_URL and REDIS_URL still choose PostgreSQL and Redis when set (CI sets both).
"""

import os

# The debug defaults (secret key, hosts) are fine for tests; pytest-django runs tests with DEBUG off.
os.environ.setdefault("DJANGO_DEBUG", "true")

from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests make many users

# Parallel workers (pytest-xdist) share one Redis but each has its own database, whose ids start
# at 1 alike: each worker's channel-layer groups ("call-1", "approvals") are its own.
if "prefix" in CHANNEL_LAYERS["default"].get("CONFIG", {}):  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"cc-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405
