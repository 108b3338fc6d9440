"""A local fake of Twilio's REST API for calls and texts: the telephony network boundary in tests.

It speaks the 2010-04-01 Calls and Messages resources as twilio-python uses them (form-encoded
POSTs, Basic auth, JSON resources with RFC 2822 dates, list pages under the `calls` key) and
records every request it gets.

    twilio = FakeTwilio(account_sid, auth_token).start()
    settings.TWILIO_API_BASE_URL = twilio.url
    twilio.script_create(status=400, code=21211, message="Invalid 'To' Phone Number")
    twilio.script_create(delay=2)            # stalls, places nothing: the client times out
    twilio.script_create(slow_response=2)    # places the call, then answers too late
    twilio.script_create(call={"status": "busy", "duration": "0"})  # the call as the answer says it is
    twilio.script_too_many_requests(2)       # the next 2 creates get Twilio's 429 (20429)
    twilio.set_call(sid, status="completed", duration="95", answered_by="human")
    twilio.stall_fetch(sid, 2)               # reading this call times out
    twilio.updates                           # calls.update requests (voicemail TwiML, hang-ups)
    twilio.script_message(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    [r.at for r in twilio.creates]           # when each request arrived (time.time())
"""

import base64
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import FakeService

API = "/2010-04-01"


@dataclass
class CreateScript:
    """What happens to the next POST .../Calls.json (or .../Messages.json)."""

    delay: float = 0.0  # stall this long and create nothing (the client times out)
    slow_response: float = 0.0  # create it, then stall this long before answering
    status: int = 201
    code: int | None = None
    message: str = ""
    call: dict[str, Any] = field(default_factory=dict)  # the created call's fields, as set_call takes them


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    user: str
    password: str
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0  # time.time() when the request arrived (headers read, body not yet)


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment.astimezone(UTC)) if moment else None


def _parse_filter_time(value: str) -> datetime:
    """Twilio accepts a date (YYYY-MM-DD) or, as the SDK sends it, YYYY-MM-DDTHH:MM:SSZ."""
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class FakeTwilio(FakeService):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[Request] = []
        # The current state of each call Twilio knows, as its JSON resource.
        self.calls: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self._scripts: deque[CreateScript] = deque()
        self._message_scripts: deque[CreateScript] = deque()
        self._fetch_stalls: dict[str, float] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._listen(Handler)

    # --- control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin

    def script_create(self, **script: Any) -> None:
        self._scripts.append(CreateScript(**script))

    def script_too_many_requests(self, count: int = 1) -> None:
        """The next `count` call creates are turned away as Twilio does past an account's limits."""
        for _ in range(count):
            self.script_create(status=429, code=20429, message="Too Many Requests")

    def script_message(self, **script: Any) -> None:
        self._message_scripts.append(CreateScript(**script))

    def stall_fetch(self, sid: str, seconds: float) -> None:
        """Reading this call stalls this long (the client times out)."""
        self._fetch_stalls[sid] = seconds

    @property
    def creates(self) -> list[Request]:
        """The call-creating requests, in order."""
        return [r for r in self.requests if r.method == "POST" and r.path == self._calls_path]

    @property
    def message_creates(self) -> list[Request]:
        """The message-sending requests, in order."""
        return [r for r in self.requests if r.method == "POST" and r.path == self._messages_path]

    def add_call(self, *, to: str, from_: str, status: str = "queued", **fields: Any) -> str:
        """A call Twilio knows about that was not created through this fake (another system's)."""
        sid = self._new_call({"To": [to], "From": [from_]})
        self.set_call(sid, status=status, **fields)
        return sid

    def set_call(self, sid: str, **fields: Any) -> None:
        """Script what Twilio reports for a call: status, duration ("95"), answered_by, end_time…"""
        with self._lock:
            resource = self.calls[sid]
            for name, value in fields.items():
                resource[name] = _rfc2822(value) if isinstance(value, datetime) else value
            resource["date_updated"] = _rfc2822(datetime.now(UTC))

    # --- protocol -----------------------------------------------------------------------------

    @property
    def _calls_path(self) -> str:
        return f"{API}/Accounts/{self.account_sid}/Calls.json"

    @property
    def _messages_path(self) -> str:
        return f"{API}/Accounts/{self.account_sid}/Messages.json"

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.time()
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        user, password = self._basic_auth(handler.headers.get("Authorization", ""))
        request = Request(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            form=parse_qs(body, keep_blank_values=True),
            user=user,
            password=password,
            headers={k.lower(): v for k, v in handler.headers.items()},
            at=arrived,
        )
        with self._lock:
            self.requests.append(request)

        if (user, password) != (self.account_sid, self.auth_token):
            return self._error(handler, 401, 20003, "Authenticate")
        if not parts.path.startswith(f"{API}/Accounts/{self.account_sid}/"):
            return self._error(handler, 404, 20404, f"The requested resource {parts.path} was not found")

        if parts.path == self._calls_path and method == "POST":
            return self._create(handler, request)
        if parts.path == self._messages_path and method == "POST":
            return self._create_message(handler, request)
        if parts.path == self._calls_path and method == "GET":
            return self._list(handler, request)
        prefix = f"{API}/Accounts/{self.account_sid}/Calls/"
        if method == "POST" and parts.path.startswith(prefix) and parts.path.endswith(".json"):
            return self._update(handler, request, parts.path[len(prefix) : -len(".json")])
        if method == "GET" and parts.path.startswith(prefix) and parts.path.endswith(".json"):
            sid = parts.path[len(prefix) : -len(".json")]
            if sid in self._fetch_stalls:
                self._stopping.wait(self._fetch_stalls[sid])
                handler.close_connection = True
                return None
            with self._lock:
                resource = dict(self.calls[sid]) if sid in self.calls else None
            if resource is None:
                return self._error(handler, 404, 20404, f"The requested resource {parts.path} was not found")
            return self._json(handler, 200, resource)
        return self._error(handler, 404, 20404, f"The requested resource {parts.path} was not found")

    def _scripted(self, handler: BaseHTTPRequestHandler, scripts: deque[CreateScript]) -> CreateScript | None:
        """The next script, or None when it already answered (an error) or stalled (no answer)."""
        script = scripts.popleft() if scripts else CreateScript()
        if script.delay:
            self._stopping.wait(script.delay)
            handler.close_connection = True
            return None  # nothing created, nothing answered
        if script.status >= 400:
            self._error(handler, script.status, script.code or script.status, script.message or "Error")
            return None
        return script

    def _create(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        script = self._scripted(handler, self._scripts)
        if script is None:
            return
        missing = [name for name in ("To", "From") if not request.form.get(name)]
        if missing:
            return self._error(handler, 400, 21201, f"No '{missing[0]}' number is specified")
        if not (request.form.get("Url") or request.form.get("Twiml") or request.form.get("ApplicationSid")):
            return self._error(handler, 400, 21205, "Url parameter is required.")
        sid = self._new_call(request.form)
        if script.call:
            self.set_call(sid, **script.call)
        with self._lock:
            resource = dict(self.calls[sid])
        if script.slow_response:
            self._stopping.wait(script.slow_response)
        self._json(handler, script.status, resource)

    def _update(self, handler: BaseHTTPRequestHandler, request: Request, sid: str) -> None:
        """Modify a live call: new TwiML (`Twiml`, `Url`) or `Status=completed` to hang it up."""
        with self._lock:
            resource = self.calls.get(sid)
            if resource is not None and request.form.get("Status") == ["completed"]:
                resource["status"] = "completed"
            found = dict(resource) if resource is not None else None
        if found is None:
            return self._error(handler, 404, 20404, f"The requested resource {request.path} was not found")
        return self._json(handler, 200, found)

    @property
    def updates(self) -> list[Request]:
        """The requests that modified a live call, in order."""
        prefix = f"{API}/Accounts/{self.account_sid}/Calls/"
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(prefix)]

    def _create_message(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        script = self._scripted(handler, self._message_scripts)
        if script is None:
            return None
        if not request.form.get("To"):
            return self._error(handler, 400, 21604, "A 'To' phone number is required.")
        if not (request.form.get("From") or request.form.get("MessagingServiceSid")):
            return self._error(handler, 400, 21603, "A 'From' phone number is required.")
        if not request.form.get("Body"):
            return self._error(handler, 400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        now = _rfc2822(datetime.now(UTC))
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": request.form["Body"][0],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": request.form.get("From", [None])[0],
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "to": request.form["To"][0],
            "uri": f"{API}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages[sid] = resource
        if script.slow_response:
            self._stopping.wait(script.slow_response)
        return self._json(handler, script.status, resource)

    def _new_call(self, form: dict[str, list[str]]) -> str:
        sid = "CA" + uuid.uuid4().hex
        now = datetime.now(UTC)
        uri = f"{API}/Accounts/{self.account_sid}/Calls/{sid}.json"
        resource = {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": _rfc2822(now),
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": form["From"][0],
            "from_formatted": form["From"][0],
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + uuid.uuid4().hex,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            # Dialing starts at once here, so StartTime filters see the call straight away.
            "start_time": _rfc2822(now),
            "status": "queued",
            "subresource_uris": {
                "notifications": uri.replace(".json", "/Notifications.json"),
                "recordings": uri.replace(".json", "/Recordings.json"),
                "payments": uri.replace(".json", "/Payments.json"),
                "events": uri.replace(".json", "/Events.json"),
                "siprec": uri.replace(".json", "/Siprec.json"),
                "streams": uri.replace(".json", "/Streams.json"),
                "user_defined_message_subscriptions": uri.replace(".json", "/UserDefinedMessageSubscriptions.json"),
                "user_defined_messages": uri.replace(".json", "/UserDefinedMessages.json"),
            },
            "to": form["To"][0],
            "to_formatted": form["To"][0],
            "trunk_sid": None,
            "uri": uri,
        }
        with self._lock:
            self.calls[sid] = resource
        return sid

    def _list(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        query = {name: values[0] for name, values in request.query.items()}
        page_size = int(query.get("PageSize", 50))
        with self._lock:
            calls = [dict(c) for c in self.calls.values()]

        def started(call: dict[str, Any]) -> datetime | None:
            return datetime.strptime(call["start_time"], "%a, %d %b %Y %H:%M:%S %z") if call["start_time"] else None

        # The SDK sends StartTime>= as the key "StartTime>" (the "=" separates key and value).
        if "To" in query:
            calls = [c for c in calls if c["to"] == query["To"]]
        if "From" in query:
            calls = [c for c in calls if c["from"] == query["From"]]
        if "StartTime>" in query:
            after = _parse_filter_time(query["StartTime>"])
            calls = [c for c in calls if started(c) and started(c) >= after]
        if "StartTime<" in query:
            before = _parse_filter_time(query["StartTime<"])
            calls = [c for c in calls if started(c) and started(c) <= before]
        calls.sort(key=lambda c: datetime.strptime(c["date_created"], "%a, %d %b %Y %H:%M:%S %z"), reverse=True)
        page = calls[:page_size]
        uri = f"{self._calls_path}?{urlsplit(handler.path).query}"
        self._json(
            handler,
            200,
            {
                "calls": page,
                "end": max(len(page) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )

    # --- wire ---------------------------------------------------------------------------------

    @staticmethod
    def _basic_auth(header: str) -> tuple[str, str]:
        if not header.startswith("Basic "):
            return "", ""
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: int, message: str) -> None:
        self._json(
            handler,
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timed out) before the answer
