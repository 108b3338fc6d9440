"""Which pages may open a browser WebSocket: the same origins Django's CSRF check accepts for a form.

A socket's Origin must match, in scheme, host and port, either the site's own origin (the Host
header, when it is one of ALLOWED_HOSTS, on the scheme the request came on, read behind the proxy
the way Django reads it: SECURE_PROXY_SSL_HEADER) or one of CSRF_TRUSTED_ORIGINS (which holds
PUBLIC_BASE_URL's). Channels' AllowedHostsOriginValidator compares the host only, so a page on
another port or scheme of an allowed host (http://localhost:9999) could open the socket with the
user's cookies.
"""

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host allows
    return settings.ALLOWED_HOSTS


def _scheme(scope: dict, headers: dict[bytes, bytes]) -> str:
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        if (value := headers.get(header)) is not None:
            return "https" if value.decode("latin1").split(",")[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def own_origin(scope: dict, headers: dict[bytes, bytes]) -> str | None:
    """The origin the socket was opened on, or None without a Host header of ours."""
    host = headers.get(b"host", b"").decode("latin1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return f"{_scheme(scope, headers)}://{host}"


def _pattern(trusted: str) -> str:
    # CSRF_TRUSTED_ORIGINS writes subdomains as https://*.example.com; channels as https://.example.com.
    return trusted.replace("://*.", "://.", 1)


class SameOriginValidator(OriginValidator):
    """Wraps a browser socket's application; refuses the handshake (403) from any other origin,
    and when the Origin header is missing."""

    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        headers = dict(scope.get("headers", ()))
        if self.origin_allowed(scope, headers):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def origin_allowed(self, scope: dict, headers: dict[bytes, bytes]) -> bool:
        raw = headers.get(b"origin")
        if not raw:
            return False
        try:
            origin = urlparse(raw.decode("latin1"))
            if origin.scheme not in ("http", "https") or not origin.hostname:
                return False
            patterns = [_pattern(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS]
            if mine := own_origin(scope, headers):
                patterns.append(mine)
            return any(self.match_allowed_origin(origin, pattern) for pattern in patterns)
        except ValueError:  # a malformed Origin or Host (a port that is not a number)
            return False
