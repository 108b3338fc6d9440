"""A conversation nobody else ends (a web chat, a simulation) ends here, and a voice call's status
is applied here; neither starts its analysis from this app: a chat's end is the chat channel's
(apps/chat/lifecycle.py, tests/agent/test_conversation_end.py), a voice call's the voice channel's."""

import pytest

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call
from apps.calls.services import StatusUpdate, call_apply_status, call_end_conversation
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def test_ending_a_chat_completes_it_once_and_starts_nothing(sent, django_capture_on_commit_callbacks):
    call = CallFactory(channel="web_chat", status="in-progress", twilio_call_sid="", ended_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        call_end_conversation(call_id=call.pk)
    ended = Call.objects.get(pk=call.pk)
    with django_capture_on_commit_callbacks(execute=True):
        call_end_conversation(call_id=call.pk)  # already ended: nothing more

    assert Call.objects.get(pk=call.pk).status == "completed"
    assert Call.objects.get(pk=call.pk).ended_at == ended.ended_at
    assert sent == []  # the analysis is queued by the chat channel, in the same transaction
    assert not CallAnalysis.objects.exists()


def test_applying_a_status_says_whether_it_completed_the_call_and_starts_nothing(sent):
    call = CallFactory(channel="voice", status="in-progress", twilio_call_sid="CA" + "a" * 32)
    update = StatusUpdate(call_sid=call.twilio_call_sid, status="completed", sequence=3)

    first = call_apply_status(update)
    again = call_apply_status(update)

    assert (first.call.pk, first.applied, first.completed) == (call.pk, True, True)
    assert (again.applied, again.completed) == (False, False)
    assert sent == []  # what a call's end starts is the voice channel's (apps/voice/lifecycle.py)
    assert not CallAnalysis.objects.exists()
