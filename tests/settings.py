"""Settings for the test suite: the product's own settings, plus what only tests need.

DATABASE_URL and REDIS_URL still choose PostgreSQL and Redis when set (CI sets both).
"""

import os

# The debug defaults (secret key, hosts) are fine for tests; pytest-django runs tests with DEBUG off.
os.environ.setdefault("DJANGO_DEBUG", "true")

from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests make many users
