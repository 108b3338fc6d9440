"""The edge of the app: request-size limits (ASGI), the browser sockets' origin check, and the
security headers (Content-Security-Policy everywhere, no-store on the API)."""

import json
import re

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.testing import WebsocketCommunicator
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.template import RequestContext, Template
from django.test import Client

from apps.customers.models import Customer
from contactcenter.asgi import application
from tests.factories import CustomerFactory

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    """A policy's directives (django-csp writes them in no fixed order)."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


# --- Request-size limits --------------------------------------------------------------------------


def http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def post(path: str, chunks: list[bytes], *, declared: int | None = None, more_after: bool = False, headers=()):
    """Send `chunks` through the project's ASGI application; the response (status, headers, body).

    `more_after` leaves the body unfinished, as a client still sending would: a response then
    shows the application answered without waiting for the rest."""

    async def scenario():
        head = list(headers)
        if declared is not None:
            head.append((b"content-length", str(declared).encode()))
        app = ApplicationCommunicator(application, http_scope(path, head))
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1 and not more_after
            await app.send_input({"type": "http.request", "body": chunk, "more_body": not last})
        start = await app.receive_output(timeout=5)
        assert start["type"] == "http.response.start"
        body = b""
        while True:
            message = await app.receive_output(timeout=5)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await app.wait(timeout=5)
        return start["status"], dict(start["headers"]), body

    return async_to_sync(scenario)()


@pytest.fixture
def small_limits(settings):
    settings.MAX_REQUEST_BYTES = 10_000
    settings.TWILIO_MAX_REQUEST_BYTES = 2_000


def test_an_api_body_declared_over_the_limit_is_refused_unread(small_limits):
    # No body is sent at all: the answer comes from the Content-Length alone.
    status, headers, body = post("/api/v1/customers", [], declared=200 * 1024 * 1024)
    assert status == 413
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"cache-control"] == b"no-store"
    assert json.loads(body) == {"detail": "The request body is too large: the limit is 10000 bytes."}


def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_limits):
    # Four chunks of 4000 bytes pass 10,000 at the third; the body never ends, yet the answer comes.
    status, _, body = post("/api/v1/customers", [b"x" * 4000] * 3, more_after=True)
    assert status == 413
    assert json.loads(body)["detail"] == "The request body is too large: the limit is 10000 bytes."


def test_other_pages_are_refused_in_plain_text(small_limits):
    status, headers, body = post("/admin/login/", [b"x" * 10_001], declared=10_001)
    assert status == 413
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert body == b"Request body too large: the limit is 10000 bytes.\n"


def test_twilio_webhooks_have_their_own_tighter_limit(small_limits):
    status, _, body = post("/twilio/voice/inbound/", [b"x" * 2_001], declared=2_001)
    assert (status, body) == (413, b"Request body too large: the limit is 2000 bytes.\n")
    status, _, body = post("/twilio/voice/inbound/", [b"x" * 1_500] * 2, more_after=True)
    assert (status, body) == (413, b"Request body too large: the limit is 2000 bytes.\n")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_body_within_the_limit_reaches_django_whole(small_limits, raw_api_key):
    payload = {"name": "Maria Lopez", "phone": "+14155550123", "account_number": "ACC1000001", "profile": {}}
    data = json.dumps(payload).encode()
    status, _, body = post(
        "/api/v1/customers",
        [data[:40], data[40:]],  # in two pieces, without a Content-Length
        headers=[(b"content-type", b"application/json"), (b"x-api-key", raw_api_key.encode())],
    )
    assert status == 201, body
    assert Customer.objects.get().name == "Maria Lopez"


def test_an_unsigned_twilio_post_within_the_limit_reaches_the_signature_check(small_limits, settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    status, _, _ = post("/twilio/voice/inbound/", [b"CallSid=CA1"], declared=11)
    assert status == 403


def test_the_default_limits_fit_what_they_guard(settings):
    assert settings.MAX_REQUEST_BYTES == 2_621_440
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.MAX_REQUEST_BYTES
    assert settings.TWILIO_MAX_REQUEST_BYTES == 1_048_576


# --- The chat socket's origin check ---------------------------------------------------------------


@pytest.fixture
def cookie(agent) -> bytes:
    client = Client()
    client.force_login(agent)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def chat(cookie: bytes, origin: str | None, host: str = "testserver", scope: dict | None = None, extra=()):
    """Open /ws/chat/ as a signed-in browser would; (connected, close code)."""

    async def scenario():
        headers = [(b"host", host.encode()), (b"cookie", cookie), *extra]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        socket.scope.update(scope or {})
        result = await socket.connect()
        await socket.disconnect()
        return result

    return async_to_sync(scenario)()


ACCEPTED = (True, None)
REFUSED = (False, 1000)  # the handshake is denied before the consumer runs


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestChatOrigin:
    def test_the_sites_own_origin_is_accepted(self, cookie):
        assert chat(cookie, "http://testserver") == ACCEPTED

    @pytest.mark.parametrize(
        "origin",
        [
            "http://testserver:9999",  # another port
            "https://testserver",  # another scheme
            "http://evil.example",  # another host
            "null",  # a sandboxed frame or a file
            "",
        ],
    )
    def test_other_origins_are_refused(self, cookie, origin):
        assert chat(cookie, origin) == REFUSED

    def test_a_missing_origin_is_refused(self, cookie):
        assert chat(cookie, None) == REFUSED

    def test_the_finding_other_ports_and_schemes_of_the_same_hosts(self, cookie):
        assert chat(cookie, "http://localhost:9999", host="127.0.0.1:8000") == REFUSED
        assert chat(cookie, "https://127.0.0.1:8766", host="127.0.0.1:8000") == REFUSED
        assert chat(cookie, "http://127.0.0.1:8000", host="127.0.0.1:8000") == ACCEPTED

    def test_a_host_that_is_not_ours_gives_no_origin_of_its_own(self, cookie):
        assert chat(cookie, "http://evil.example", host="evil.example") == REFUSED

    def test_the_scheme_comes_from_the_proxy_header_behind_the_proxy(self, cookie, settings):
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        settings.ALLOWED_HOSTS = ["cc.example.com"]
        settings.CSRF_TRUSTED_ORIGINS = []
        https = [(b"x-forwarded-proto", b"https")]
        assert chat(cookie, "https://cc.example.com", host="cc.example.com", extra=https) == ACCEPTED
        assert chat(cookie, "http://cc.example.com", host="cc.example.com", extra=https) == REFUSED
        assert chat(cookie, "https://cc.example.com", host="cc.example.com") == REFUSED

    def test_a_secure_socket_is_an_https_origin(self, cookie):
        assert chat(cookie, "https://testserver", scope={"scheme": "wss"}) == ACCEPTED
        assert chat(cookie, "http://testserver", scope={"scheme": "wss"}) == REFUSED

    def test_csrf_trusted_origins_are_accepted_exactly(self, cookie, settings):
        settings.CSRF_TRUSTED_ORIGINS = ["https://cc.example.com", "https://*.console.example.com"]
        assert chat(cookie, "https://cc.example.com", host="10.0.0.5:8000") == ACCEPTED
        assert chat(cookie, "https://eu.console.example.com", host="10.0.0.5:8000") == ACCEPTED
        assert chat(cookie, "https://cc.example.com:8443", host="10.0.0.5:8000") == REFUSED
        assert chat(cookie, "http://cc.example.com", host="10.0.0.5:8000") == REFUSED
        assert chat(cookie, "https://example.com", host="10.0.0.5:8000") == REFUSED

    def test_a_malformed_origin_or_host_is_refused(self, cookie):
        assert chat(cookie, "http://testserver:notaport") == REFUSED
        assert chat(cookie, "http://testserver", host="testserver:notaport") == REFUSED


# --- Security headers -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestHeaders:
    def test_admin_pages_carry_the_policy(self, supervisor):
        customer = CustomerFactory()
        client = Client()
        assert directives(client.get("/admin/login/")["Content-Security-Policy"]) == POLICY
        client.force_login(supervisor)
        for path in ["/admin/", "/admin/customers/customer/", f"/admin/customers/customer/{customer.pk}/change/"]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert directives(response["Content-Security-Policy"]) == POLICY, path

    def test_the_policy_allows_no_inline_script_or_style(self):
        policy = directives(Client().get("/accounts/login/")["Content-Security-Policy"])
        assert "'unsafe-inline'" not in policy["script-src"]
        assert "'unsafe-inline'" not in policy["style-src"]
        assert "'unsafe-eval'" not in policy["script-src"]
        assert policy["frame-ancestors"] == "'none'"

    def test_a_page_with_an_inline_script_runs_it_by_the_requests_nonce(self, rf):
        def page(request):
            html = Template('<script nonce="{{ CSP_NONCE }}">start()</script>').render(RequestContext(request))
            return HttpResponse(html)

        response = CSPMiddleware(page)(rf.get("/console/"))
        nonce = re.fullmatch(r'<script nonce="([A-Za-z0-9+/=]{24})">start\(\)</script>', response.content.decode())[1]
        assert directives(response["Content-Security-Policy"])["script-src"] == f"'self' 'nonce-{nonce}'"

    def test_api_answers_are_not_stored(self, api, supervisor):
        CustomerFactory()
        assert api.get("/api/v1/customers")["Cache-Control"] == "no-store"
        assert api.get("/api/v1/customers/0")["Cache-Control"] == "no-store"
        assert Client().get("/api/v1/customers")["Cache-Control"] == "no-store"  # 401
        assert api.post("/api/v1/customers", {}, content_type="application/json")["Cache-Control"] == "no-store"

    def test_the_api_docs_are_not_stored_either(self, supervisor):
        client = Client()
        client.force_login(supervisor)
        response = client.get("/api/v1/docs")
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert "Content-Security-Policy" in response
