"""A web chat left open (the tab closed) is ended and analysed by the sweep, and leaves the monitor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call, CallStatus, Channel
from apps.chat.lifecycle import chats_close_idle
from tests.factories import CallFactory
from tests.layers import GroupListener

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def chat(minutes_idle: int, **fields) -> Call:
    call = CallFactory(
        channel=Channel.WEB_CHAT, twilio_call_sid="", status=CallStatus.IN_PROGRESS, ended_at=None, **fields
    )
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes_idle))
    return call


def test_only_chats_idle_for_half_an_hour_are_ended_and_analysed(sent):
    left = chat(31)
    talking = chat(5)
    voice = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None)
    Call.objects.filter(pk=voice.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    monitor = GroupListener("monitor")

    assert chats_close_idle() == [left.pk]

    statuses = dict(Call.objects.values_list("pk", "status"))
    assert statuses == {left.pk: "completed", talking.pk: "in-progress", voice.pk: "in-progress"}
    assert list(CallAnalysis.objects.values_list("call_id", "status")) == [(left.pk, "pending")]
    assert sent.names() == ["apps.analysis.tasks.call_analyze_task"]
    assert monitor.received() == [{"type": "call.ended", "call_id": left.pk}]
    monitor.close()
    assert chats_close_idle() == []  # once
