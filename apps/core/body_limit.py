"""A request-size limit in front of Django (ASGI), so an oversized body is refused before
Django reads it into memory and a temporary file.

A body is refused with 413 when its Content-Length says it is over the limit, or, without one
(chunked), as soon as the bytes received pass it: nothing past the limit is handed on.
Twilio's webhooks (small form posts) have a tighter limit than the rest; see MAX_REQUEST_BYTES
and TWILIO_MAX_REQUEST_BYTES in settings.

daphne itself holds a whole request body before the application sees any of it, so this keeps
an oversized body out of Django but cannot keep it out of the web process: the reverse proxy's
cap (nginx `client_max_body_size`) does that (README "Production").
"""

import json

from django.conf import settings

from apps.core.middleware import is_api

TWILIO_PREFIX = "/twilio/"


class BodyTooLarge(Exception):
    pass


def limit_for(path: str) -> int:
    return settings.TWILIO_MAX_REQUEST_BYTES if path.startswith(TWILIO_PREFIX) else settings.MAX_REQUEST_BYTES


def _declared_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyLimit:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return

        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Django reads the whole body before it answers, so nothing has been sent yet; an
            # application that answered before reading its body can only be cut off.
            if not started:
                await _refuse(scope, send, limit)


async def _refuse(scope: dict, send, limit: int) -> None:
    if is_api(scope["path"]):
        body = json.dumps({"detail": f"The request body is too large: the limit is {limit} bytes."}).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    else:
        body = f"Request body too large: the limit is {limit} bytes.\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
    headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
