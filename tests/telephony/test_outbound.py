"""Placing outbound calls: one Twilio REST request per call, ever; refusals write nothing."""

import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.calls.attempts import call_create_outbound
from apps.calls.models import Call, CallStatus
from apps.core.errors import DomainError, InvalidReference
from apps.core.models import AuditEvent
from apps.customers.models import DoNotCallEntry, DoNotCallSource
from apps.outreach.dialing import call_place
from apps.outreach.tasks import call_place_task
from apps.twilio.client import TelephonyNotConfigured, twilio_client
from apps.voice.outbound import ComplianceBlocked, call_machine_answered, call_request_outbound
from apps.voice.tasks import calls_reconcile_task
from contactcenter.celery import app as celery_app
from tests.factories import CustomerFactory, FollowUpFactory
from tests.telephony import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    outbound_call,
    signed,
)

DIAL_TASK = "apps.telephony.tasks.call_place_task"


def expected_create_form(call: Call) -> dict[str, list[str]]:
    return {
        "To": [call.to_number],
        "From": [FROM_NUMBER],
        "Url": [f"{PUBLIC_BASE_URL}/twilio/voice/outbound/{call.pk}/"],
        "Method": ["POST"],
        "StatusCallback": [f"{PUBLIC_BASE_URL}/twilio/voice/status/"],
        "StatusCallbackMethod": ["POST"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "MachineDetection": ["DetectMessageEnd"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [f"{PUBLIC_BASE_URL}/twilio/voice/amd/"],
        "AsyncAmdStatusCallbackMethod": ["POST"],
        "TimeLimit": ["900"],
    }


def dial_events(call: Call) -> list[dict]:
    return list(AuditEvent.objects.filter(action="call.dial", object_id=str(call.pk)).values_list("details", flat=True))


# --- the client -------------------------------------------------------------------------------


def test_the_client_refuses_to_exist_without_credentials(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = ""
    with pytest.raises(TelephonyNotConfigured) as raised:
        twilio_client()
    assert raised.value.status_code == 503
    assert raised.value.message == (
        "Outbound calling is disabled: Twilio is not configured (set TWILIO_ACCOUNT_SID, TWILIO_FROM_NUMBER)."
    )


def test_the_client_follows_the_settings_of_the_moment(settings, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")  # would rewrite the host; the base URL wins
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = ACCOUNT_SID, "t1", "+1"
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.TWILIO_HTTP_TIMEOUT = 1.5
    first = twilio_client()
    assert (first.api.base_url, first.http_client.timeout, first.auth, first.edge) == (
        "http://127.0.0.1:9",
        1.5,
        (ACCOUNT_SID, "t1"),
        None,
    )
    assert first.get_hostname("http://127.0.0.1:9/2010-04-01") == "http://127.0.0.1:9/2010-04-01"
    settings.TWILIO_AUTH_TOKEN = "t2"
    settings.TWILIO_API_BASE_URL = ""
    second = twilio_client()
    assert (second.api.base_url, second.auth) == ("https://api.twilio.com", (ACCOUNT_SID, "t2"))


# --- requesting a call ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_queues_the_call_and_sends_one_dial_task_after_commit(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(consenting=True, phone="+14155550142")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call = call_request_outbound(
            customer_id=customer.pk, workflow="collections", reason="Missed payment", actor=None
        )
    assert sent == []  # nothing leaves before commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [(DIAL_TASK, (call.pk,), {})]

    call.refresh_from_db()
    assert (
        call.customer_id,
        call.channel,
        call.direction,
        call.status,
        call.from_number,
        call.to_number,
        call.reason,
        call.workflow_name,
        call.workflow_version,
        call.state,
        call.twilio_call_sid,
        call.dialed_at,
        call.started_at,
    ) == (
        customer.pk,
        "voice",
        "outbound",
        "queued",
        FROM_NUMBER,
        "+14155550142",
        "Missed payment",
        "collections",
        "",
        {},
        "",
        None,
        None,
    )
    event = AuditEvent.objects.get(action="call.request_outbound")
    assert (event.actor_label, event.object_id, event.details) == (
        "system",
        str(call.pk),
        {"workflow": "collections", "reason": "Missed payment"},
    )
    assert fake_twilio.requests == []  # dialing is the task's job


@pytest.mark.django_db
def test_a_follow_up_is_named_on_the_call_and_in_the_audit(fake_twilio):
    followup = FollowUpFactory(customer=CustomerFactory(consenting=True))
    call = call_create_outbound(
        customer=followup.customer, workflow="roadside", reason="Callback", actor="dialer", followup_id=followup.pk
    )
    assert call.followup == followup
    event = AuditEvent.objects.get(action="call.request_outbound")
    assert (event.actor_label, event.details) == (
        "dialer",
        {"workflow": "roadside", "reason": "Callback", "followup_id": followup.pk},
    )


def _refused(django_capture_on_commit_callbacks, sent, **kwargs):
    before = Call.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError) as raised:
        call_request_outbound(**{"workflow": "collections", "reason": "Missed payment", "actor": None, **kwargs})
    assert Call.objects.count() == before
    assert not AuditEvent.objects.filter(action="call.request_outbound").exists()
    assert callbacks == []
    assert sent == []
    return raised.value


@pytest.mark.django_db
def test_refused_requests_write_nothing(fake_twilio, sent, settings, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True, phone="+14155550142")

    error = _refused(django_capture_on_commit_callbacks, sent, customer_id=999999)
    assert (type(error), error.field, error.message) == (InvalidReference, "customer_id", "No customer with id 999999.")

    error = _refused(django_capture_on_commit_callbacks, sent, customer_id=customer.pk, workflow="sales")
    assert (type(error), error.field, error.message) == (
        InvalidReference,
        "workflow",
        "No workflow 'sales'; known: collections, roadside.",
    )

    entry = DoNotCallEntry.objects.create(phone="+14155550142", source=DoNotCallSource.SMS_STOP)
    error = _refused(django_capture_on_commit_callbacks, sent, customer_id=customer.pk)
    assert (type(error), error.message) == (
        ComplianceBlocked,
        "Not allowed to call now: +14155550142 is on the do-not-call list.",
    )
    entry.delete()

    customer.do_not_call = True
    customer.save()
    error = _refused(django_capture_on_commit_callbacks, sent, customer_id=customer.pk)
    assert type(error) is ComplianceBlocked
    customer.do_not_call = False
    customer.save()

    settings.TWILIO_AUTH_TOKEN = ""
    error = _refused(django_capture_on_commit_callbacks, sent, customer_id=customer.pk)
    assert (type(error), error.status_code) == (TelephonyNotConfigured, 503)
    assert fake_twilio.requests == []


# --- dialing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dialing_sends_exactly_these_parameters_and_keeps_the_call_sid(fake_twilio):
    call = outbound_call()
    dialed = call_place(call_id=call.pk)

    [create] = fake_twilio.creates
    assert (create.path, create.user, create.password) == (
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        ACCOUNT_SID,
        AUTH_TOKEN,
    )
    assert create.form == expected_create_form(call)
    [sid] = fake_twilio.calls
    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)
    assert (dialed.twilio_call_sid, dialed.status, dialed.error, dialed.ended_at) == (sid, "queued", "", None)
    assert dialed.dialed_at is not None
    # Went out inside the calling window (any hour, for these tests), as the analytics count it.
    assert dial_events(call) == [{"outcome": "placed", "call_sid": sid, "in_window": True}]


@pytest.mark.django_db
def test_dialing_twice_sends_one_request(fake_twilio):
    call = outbound_call()
    first = call_place(call_id=call.pk)
    second = call_place(call_id=call.pk)
    assert len(fake_twilio.creates) == 1
    assert (second.twilio_call_sid, second.dialed_at) == (first.twilio_call_sid, first.dialed_at)
    assert len(dial_events(call)) == 1


@pytest.mark.django_db
def test_the_task_twice_sends_one_request(fake_twilio):
    call = outbound_call()
    assert call_place_task.apply(args=(call.pk,)).get() == "queued"
    assert call_place_task.apply(args=(call.pk,)).get() == "queued"  # a redelivery, a duplicate
    assert len(fake_twilio.creates) == 1


@pytest.mark.django_db
def test_a_refusal_fails_the_call_and_is_not_retried(fake_twilio):
    call = outbound_call()
    fake_twilio.script_create(status=400, code=21211, message="Invalid 'To' Phone Number: +14155550142")
    failed = call_place(call_id=call.pk)
    assert (failed.status, failed.error, failed.twilio_call_sid) == (
        "failed",
        "21211: Invalid 'To' Phone Number: +14155550142",
        "",
    )
    assert failed.ended_at is not None
    call_place_task.apply(args=(call.pk,))
    assert len(fake_twilio.creates) == 1
    assert fake_twilio.calls == {}
    assert dial_events(call) == [{"outcome": "failed", "error": "21211: Invalid 'To' Phone Number: +14155550142"}]


@pytest.mark.django_db
def test_a_timeout_is_unclear_and_never_redialed(fake_twilio):
    call = outbound_call()
    fake_twilio.script_create(delay=3)
    unclear = call_place(call_id=call.pk)
    assert (unclear.status, unclear.twilio_call_sid, unclear.ended_at) == ("queued", "", None)
    assert unclear.dialed_at is not None
    assert unclear.error.startswith("unclear: ReadTimeout: ")
    assert "read timeout=0.5" in unclear.error

    call_place(call_id=call.pk)
    call_place_task.apply(args=(call.pk,))
    assert len(fake_twilio.creates) == 1
    assert [e["outcome"] for e in dial_events(call)] == ["unclear"]


@pytest.mark.django_db
def test_a_server_error_is_unclear(fake_twilio):
    call = outbound_call()
    fake_twilio.script_create(status=503, code=20503, message="Service Unavailable")
    unclear = call_place(call_id=call.pk)
    assert (unclear.status, unclear.twilio_call_sid, unclear.error) == (
        "queued",
        "",
        "unclear: 20503: Service Unavailable",
    )
    call_place(call_id=call.pk)
    assert len(fake_twilio.creates) == 1


@pytest.mark.django_db
def test_a_connection_error_is_unclear(fake_twilio, settings):
    call = outbound_call()
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    unclear = call_place(call_id=call.pk)
    assert unclear.error.startswith("unclear: ConnectionError: ")
    assert unclear.dialed_at is not None


@pytest.mark.django_db
def test_an_opt_out_after_the_request_stops_the_dial(fake_twilio):
    call = outbound_call()
    DoNotCallEntry.objects.create(phone=call.to_number, source=DoNotCallSource.CALL_OPT_OUT)
    stopped = call_place(call_id=call.pk)
    assert (stopped.status, stopped.error) == (
        "canceled",
        f"blocked: {call.to_number} is on the do-not-call list.",
    )
    assert stopped.ended_at is not None
    assert fake_twilio.requests == []


@pytest.mark.django_db
def test_twilio_unset_at_dial_time_fails_the_call_without_a_request(fake_twilio, settings):
    call = outbound_call()
    settings.TWILIO_ACCOUNT_SID = ""
    failed = call_place(call_id=call.pk)
    assert (failed.status, failed.error) == (
        "failed",
        "Outbound calling is disabled: Twilio is not configured (set TWILIO_ACCOUNT_SID).",
    )
    assert fake_twilio.requests == []


@pytest.mark.django_db
def test_only_queued_outbound_calls_are_dialed(fake_twilio):
    inbound = outbound_call(direction="inbound")
    answered = outbound_call(status=CallStatus.IN_PROGRESS)
    dialed_before = outbound_call(dialed_at=timezone.now() - timedelta(minutes=1))
    for call in (inbound, answered, dialed_before):
        assert call_place(call_id=call.pk).dialed_at == call.dialed_at
    assert fake_twilio.requests == []


# --- Celery wiring ----------------------------------------------------------------------------


def test_dialing_has_its_own_queue_no_retries_and_a_time_limit():
    assert celery_app.amqp.router.route({}, DIAL_TASK)["queue"].name == "dialer"
    assert celery_app.amqp.router.route({}, calls_reconcile_task.name)["queue"].name == "default"
    assert (call_place_task.soft_time_limit, call_place_task.time_limit) == (30, 60)
    assert getattr(call_place_task, "autoretry_for", ()) == ()
    assert celery_app.conf.beat_schedule["calls-reconcile"] == {
        "task": "apps.telephony.tasks.calls_reconcile_task",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    }


# --- the API ----------------------------------------------------------------------------------


def session(user) -> Client:
    """A signed-in browser: CSRF is enforced, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/admin/")  # sets the CSRF cookie
    return client


def place(client: Client, body: dict):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if "csrftoken" in client.cookies else {}
    return client.post("/api/v1/calls/outbound", body, content_type="application/json", headers=headers)


def assert_nothing_written(sent) -> None:
    assert not Call.objects.exists()
    assert not AuditEvent.objects.filter(action="call.request_outbound").exists()
    assert connection.run_on_commit == []  # no task waiting for the test's transaction to commit
    assert sent == []


@pytest.mark.django_db
def test_the_api_queues_a_call(api, fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True, phone="+14155550142")
    with django_capture_on_commit_callbacks(execute=True):
        response = place(api, {"customer_id": customer.pk, "workflow": "collections", "reason": "Missed payment"})
    assert response.status_code == 202
    call = Call.objects.get()
    assert response.json() == {
        "id": call.pk,
        "twilio_call_sid": "",
        "customer_id": customer.pk,
        "channel": "voice",
        "direction": "outbound",
        "status": "queued",
        "from_number": FROM_NUMBER,
        "to_number": "+14155550142",
        "reason": "Missed payment",
        "started_at": None,
        "answered_at": None,
        "ended_at": None,
        "duration_seconds": None,
        "answered_by": "",
        "workflow_name": "collections",
        "workflow_version": "",
        "current_step": "",
        "handoff_reason": "",
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": "0",
        "is_test": False,
    }
    assert sent == [(DIAL_TASK, (call.pk,), {})]
    assert AuditEvent.objects.get(action="call.request_outbound").actor_label == "api-key:test-system"


@pytest.mark.django_db
def test_a_supervisor_session_places_a_call(supervisor, fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = place(
            session(supervisor), {"customer_id": customer.pk, "workflow": "roadside", "reason": "Check-in"}
        )
    assert response.status_code == 202
    assert AuditEvent.objects.get(action="call.request_outbound").actor == supervisor
    assert len(sent) == 1


@pytest.mark.django_db
def test_the_api_refuses_without_credentials_or_the_permission(client, agent, fake_twilio, sent):
    customer = CustomerFactory(consenting=True)
    body = {"customer_id": customer.pk, "workflow": "collections", "reason": "Missed payment"}
    assert place(client, body).status_code == 401
    response = place(session(agent), body)
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role does not allow this (needs calls.place_call)."},
    )
    assert_nothing_written(sent)


@pytest.mark.django_db
def test_the_api_names_the_bad_field(api, fake_twilio, sent):
    customer = CustomerFactory(consenting=True)
    response = place(api, {"customer_id": 999999, "workflow": "collections", "reason": "Missed payment"})
    assert (response.status_code, response.json()) == (
        422,
        {"detail": [{"loc": ["body", "customer_id"], "msg": "No customer with id 999999.", "type": "value_error"}]},
    )
    response = place(api, {"customer_id": customer.pk, "workflow": "sales", "reason": "Missed payment"})
    assert (response.status_code, response.json()["detail"][0]["loc"]) == (422, ["body", "workflow"])
    response = place(api, {"customer_id": customer.pk, "workflow": "collections", "reason": ""})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "reason"
    assert_nothing_written(sent)


@pytest.mark.django_db
def test_the_api_refuses_the_do_not_call_list(api, fake_twilio, sent):
    customer = CustomerFactory(consenting=True, phone="+14155550142", do_not_call=True)
    response = place(api, {"customer_id": customer.pk, "workflow": "collections", "reason": "Missed payment"})
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "Not allowed to call now: +14155550142 is on the do-not-call list."},
    )
    assert_nothing_written(sent)


@pytest.mark.django_db
def test_the_api_is_503_while_twilio_is_not_configured(api, settings, sent):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM_NUMBER = ""
    customer = CustomerFactory(consenting=True)
    response = place(api, {"customer_id": customer.pk, "workflow": "collections", "reason": "Missed payment"})
    assert (response.status_code, response.json()) == (
        503,
        {
            "detail": "Outbound calling is disabled: Twilio is not configured "
            "(set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)."
        },
    )
    assert_nothing_written(sent)


# --- concurrency (PostgreSQL row locks) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_racing_on_one_call_send_one_request(fake_twilio):
    call = outbound_call()
    workers = 8
    start = threading.Barrier(workers)
    results: list[Call] = []
    errors: list[BaseException] = []

    def dial() -> None:
        try:
            start.wait()
            results.append(call_place(call_id=call.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dial) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == workers
    assert len(fake_twilio.creates) == 1
    call.refresh_from_db()
    [sid] = fake_twilio.calls
    assert call.twilio_call_sid == sid
    assert AuditEvent.objects.filter(action="call.dial", object_id=str(call.pk)).count() == 1


# --- answering machines -----------------------------------------------------------------------


def _answered(fake_twilio, answered_by: str) -> Call:
    call = outbound_call()
    call_place(call_id=call.pk)
    call.refresh_from_db()
    Call.objects.filter(pk=call.pk).update(status="in-progress", answered_by=answered_by)
    return call


@pytest.mark.django_db
def test_a_machine_gets_the_limited_content_voicemail_once(fake_twilio, settings):
    settings.AGENT_NAME, settings.COMPANY_NAME = "Ava", "Northwind Auto Finance"
    call = _answered(fake_twilio, "machine_end_beep")

    assert call_machine_answered(call_id=call.pk) == "message"
    assert call_machine_answered(call_id=call.pk) == "done"  # a redelivered task

    [update] = fake_twilio.updates
    assert update.path.endswith(f"/Calls/{call.twilio_call_sid}.json")
    twiml = ET.fromstring(update.form["Twiml"][0])
    assert [(child.tag, child.text) for child in twiml] == [
        (
            "Say",
            "Hello, this is Ava, a virtual assistant calling for Northwind Auto Finance. "
            "Please call us back at 1 4 1 5 5 5 5 0 1 0 0. Thank you.",
        ),
        ("Hangup", None),
    ]
    event = AuditEvent.objects.get(action="call.machine")
    assert event.details == {"answered_by": "machine_end_beep", "action": "message"}


@pytest.mark.django_db
def test_a_machine_can_be_hung_up_on_instead(fake_twilio, settings):
    settings.OUTBOUND_VOICEMAIL = "hang_up"
    call = _answered(fake_twilio, "machine_end_silence")
    assert call_machine_answered(call_id=call.pk) == "hang_up"
    [update] = fake_twilio.updates
    assert update.form == {"Status": ["completed"]}


@pytest.mark.django_db
def test_a_person_is_left_alone(fake_twilio):
    call = _answered(fake_twilio, "human")
    assert call_machine_answered(call_id=call.pk) == "person"
    assert fake_twilio.updates == []
    assert not AuditEvent.objects.filter(action="call.machine").exists()


@pytest.mark.django_db
def test_the_amd_webhook_sends_the_machine_task(fake_twilio, sent, settings, django_capture_on_commit_callbacks):
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = AUTH_TOKEN, PUBLIC_BASE_URL
    call = _answered(fake_twilio, "")
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed("/twilio/voice/amd/", {"CallSid": call.twilio_call_sid, "AnsweredBy": "machine_end_beep"})
        signed("/twilio/voice/amd/", {"CallSid": call.twilio_call_sid, "AnsweredBy": "human"})  # a person: no task
    assert response.status_code == 204
    assert sent == [("apps.telephony.tasks.call_machine_answered_task", (call.pk,), {})]
