"""Closing a dispatch frees its technician, once; supervisors do it from the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.errors import InvalidReference
from apps.core.models import AuditEvent
from apps.dispatch.models import Dispatch
from apps.dispatch.services import dispatch_close
from tests.factories import CallFactory, DispatchFactory, TechnicianFactory

pytestmark = pytest.mark.django_db


def busy_dispatch(technician=None):
    technician = technician or TechnicianFactory(availability="busy")
    call = CallFactory()
    return DispatchFactory(call=call, customer=call.customer, technician=technician, status="dispatched")


def test_completing_frees_the_technician_once(supervisor):
    dispatch = busy_dispatch()
    assert dispatch_close(dispatch_id=dispatch.pk, status="completed", actor=supervisor) is True
    dispatch.refresh_from_db()
    dispatch.technician.refresh_from_db()
    assert (dispatch.status, dispatch.technician.availability) == ("completed", "available")
    assert dispatch_close(dispatch_id=dispatch.pk, status="cancelled", actor=supervisor) is False
    assert Dispatch.objects.get(pk=dispatch.pk).status == "completed"
    assert AuditEvent.objects.filter(action__startswith="dispatch.").count() == 1


def test_a_technician_with_another_open_job_stays_busy(supervisor):
    first = busy_dispatch()
    busy_dispatch(technician=first.technician)
    dispatch_close(dispatch_id=first.pk, status="cancelled", actor=supervisor)
    first.technician.refresh_from_db()
    assert first.technician.availability == "busy"


def test_only_completed_or_cancelled(supervisor):
    dispatch = busy_dispatch()
    with pytest.raises(InvalidReference):
        dispatch_close(dispatch_id=dispatch.pk, status="dispatched", actor=supervisor)


def test_supervisors_close_dispatches_from_the_admin(supervisor):
    dispatch = busy_dispatch()
    client = Client()
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:dispatch_dispatch_changelist"),
        {"action": "mark_completed", "_selected_action": [dispatch.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "1 dispatch(es) marked completed; their technicians are free again."
    ]
    dispatch.refresh_from_db()
    assert dispatch.status == "completed"
    form = client.get(reverse("admin:dispatch_dispatch_change", args=[dispatch.pk])).context["adminform"].form
    assert list(form.fields) == []  # nothing is edited by hand
