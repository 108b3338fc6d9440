"""Production settings: DEBUG off demands a real key and hosts, and then the deploy check passes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3y-" + "x7Q2pL9mZ" * 6  # 58 characters, varied enough for Django's check


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.pop("PUBLIC_BASE_URL", None)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "contactcenter.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_passes_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="cc.example.com",
        PUBLIC_BASE_URL="https://cc.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="cc.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in result.stderr


def test_debug_off_without_hosts_refuses_to_start():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off." in result.stderr


def test_debug_defaults_to_off():
    result = manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_an_idle_socket_listener_outlasts_the_channel_layers_blocking_read():
    # Every consumer listens through one BZPOPMIN of brpop_timeout seconds; a read timeout no
    # longer than that failed every idle listener ("Timeout reading from ...", redis-py's 5 s).
    script = (
        "import django; django.setup();"
        "from django.conf import settings; from channels_redis.core import RedisChannelLayer as L;"
        "[host] = settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'];"
        "print(host['socket_timeout'] > L.brpop_timeout, host['address'])"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "contactcenter.settings", "DJANGO_DEBUG": "true",
             "REDIS_URL": "redis://127.0.0.1:6379/0"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.stdout.split() == ["True", "redis://127.0.0.1:6379/0"], result.stderr
