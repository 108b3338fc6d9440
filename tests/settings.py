"""Settings for the test suite: the product's own settings, plus what only tests need.

DATABASE_URL and REDIS_URL still choose PostgreSQL and Redis when set (CI sets both).
"""

import atexit
import os
import shutil
import tempfile

# The debug defaults (secret key, hosts) are fine for tests; pytest-django runs tests with DEBUG off.
os.environ.setdefault("DJANGO_DEBUG", "true")
# Each test process keeps its metrics apart (/metrics adds up one folder's processes): xdist workers
# would otherwise count each other's turns. Processes a test starts (daphne, a worker) share it.
_metrics_owner = os.environ.get("PYTEST_XDIST_WORKER", "main")
if os.environ.get("CC_TEST_METRICS_OWNER") != _metrics_owner:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cc-test-metrics-")
    os.environ["CC_TEST_METRICS_OWNER"] = _metrics_owner
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)

from contactcenter.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests make many users

# Parallel workers (pytest-xdist) share one Redis but each has its own database, whose ids start
# at 1 alike: each worker's channel-layer groups ("call-1", "approvals") are its own.
if "prefix" in CHANNEL_LAYERS["default"].get("CONFIG", {}):  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"cc-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405
