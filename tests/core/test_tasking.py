"""The task helpers (apps/core/tasking.py): retry with backoff then give up, and rows whose task
was lost queued again. The broker is the boundary: what would have been sent is recorded."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalStatus
from apps.core.tasking import RetryingTask, requeue_stale, retrying_task
from apps.customers.models import Customer
from tests.concurrency import concurrently
from tests.factories import ApprovalFactory

pytestmark = pytest.mark.django_db


class Outage(Exception):
    pass


class Refused(Exception):
    pass


runs: list[int] = []  # the argument of each run, in order
script: list[Exception | None] = []  # what each run does: raise, or (None) finish
given_up: list[tuple[str, tuple, dict]] = []


@pytest.fixture(autouse=True)
def fresh_script():
    runs.clear()
    script.clear()
    given_up.clear()


def _body(account: int, note: str = "") -> str:
    runs.append(account)
    outcome = script.pop(0) if script else None
    if outcome is not None:
        raise outcome
    return f"done {account}{note}"


def _give_up(exc: Exception, *args, **kwargs) -> str:
    given_up.append((str(exc), args, kwargs))
    return "gave up"


@retrying_task(retry_for=(Outage,), give_up=_give_up, max_retries=2, soft_time_limit=5, time_limit=10)
def flaky(account: int, note: str = "") -> str:
    return _body(account, note)


@retrying_task(retry_for=(Outage,), give_up=_give_up, max_retries=10)
def patient(account: int) -> str:
    return _body(account)


@retrying_task(retry_for=(Outage,), max_retries=1)
def flaky_without_give_up(account: int) -> str:
    return _body(account)


@retrying_task(retry_for=(Outage,), max_retries=1)
def row_gone(customer_id: int) -> str:
    return Customer.objects.get(pk=customer_id).name


def test_an_outage_that_ends_is_retried_until_it_succeeds():
    script.extend([Outage("503"), Outage("timeout")])

    result = flaky.apply(args=[7], kwargs={"note": "!"})  # eager: each retry runs at once

    assert (result.state, result.get()) == ("SUCCESS", "done 7!")
    assert runs == [7, 7, 7]
    assert given_up == []


def test_when_the_retries_run_out_the_give_up_answers_with_the_last_error_and_the_arguments():
    script.extend([Outage("first"), Outage("second"), Outage("third"), Outage("never reached")])

    result = flaky.apply(args=[7], kwargs={"note": "!"})

    assert (result.state, result.get()) == ("SUCCESS", "gave up")
    assert runs == [7, 7, 7]  # the run and max_retries (2) retries
    assert given_up == [("third", (7,), {"note": "!"})]


def test_another_error_fails_at_once_and_is_not_given_up():
    script.append(Refused("400"))

    result = flaky.apply(args=[7])

    assert result.state == "FAILURE"
    assert isinstance(result.result, Refused)
    assert runs == [7]
    assert given_up == []


def test_without_a_give_up_the_task_fails_with_the_last_error():
    script.extend([Outage("first"), Outage("second")])

    result = flaky_without_give_up.apply(args=[3])

    assert result.state == "FAILURE"
    assert str(result.result) == "second"
    assert runs == [3, 3]


def test_a_retrying_task_is_a_row_task_whose_row_may_be_gone():
    assert isinstance(row_gone, RetryingTask)
    assert (flaky.max_retries, flaky.soft_time_limit, flaky.time_limit) == (2, 5, 10)
    assert (flaky.backoff_s, flaky.backoff_max_s) == (30, 600)

    result = row_gone.apply(args=[987654])

    assert (result.state, result.result) == ("SUCCESS", None)


@pytest.mark.parametrize(("retries", "longest"), [(0, 30), (1, 60), (3, 240), (4, 480), (5, 600), (9, 600)])
def test_in_a_worker_a_retry_is_sent_back_to_the_broker_after_a_backoff_with_full_jitter(sent, retries, longest):
    waits = []
    for _ in range(40):
        script.append(Outage("503"))
        patient.push_request(id="t-1", args=[7], kwargs={}, retries=retries, called_directly=False, is_eager=False)
        try:
            with pytest.raises(Retry) as retry:
                patient(7)
        finally:
            patient.pop_request()
        waits.append(retry.value.when)

    assert all(0 <= wait <= longest for wait in waits)
    assert len(set(waits)) > 1  # jittered: not one fixed wait
    assert sent == [(patient.name, (7,), {})] * 40
    assert given_up == []


# --- requeue_stale ------------------------------------------------------------------------------

NOW = timezone.now()


def _approved(minutes_ago: int, status: str = ApprovalStatus.APPROVED) -> Approval:
    approval = ApprovalFactory(status=status, decided_at=NOW - timedelta(minutes=minutes_ago))
    Approval.objects.filter(pk=approval.pk).update(updated_at=NOW - timedelta(minutes=minutes_ago))
    return approval


def test_stale_rows_are_sent_again_after_commit_oldest_first_and_touched(sent, django_capture_on_commit_callbacks):
    newer, older = _approved(6), _approved(30)
    _approved(4)  # not past the limit: its task may be on its way
    _approved(30, status=ApprovalStatus.EXECUTED)  # not in the rows given

    with django_capture_on_commit_callbacks(execute=True):
        ids = requeue_stale(
            Approval.objects.filter(status=ApprovalStatus.APPROVED),
            older_than=timedelta(minutes=5),
            task="apps.approvals.tasks.approval_execute",
            now=NOW,
        )
        assert sent == []  # not before the commit

    assert ids == [older.pk, newer.pk]
    assert sent == [
        ("apps.approvals.tasks.approval_execute", (older.pk,), {}),
        ("apps.approvals.tasks.approval_execute", (newer.pk,), {}),
    ]
    assert set(Approval.objects.filter(pk__in=ids).values_list("updated_at", flat=True)) == {NOW}
    with django_capture_on_commit_callbacks(execute=True):
        again = requeue_stale(
            Approval.objects.filter(status=ApprovalStatus.APPROVED),
            older_than=timedelta(minutes=5),
            task="apps.approvals.tasks.approval_execute",
            now=NOW + timedelta(minutes=1),
        )
    assert again == []  # touched: left alone while that send is on its way
    assert len(sent) == 2


def test_a_field_of_the_row_is_sent_at_most_limit_rows_at_a_time_and_each_row_is_prepared_first(
    sent, django_capture_on_commit_callbacks
):
    rows = [_approved(minutes) for minutes in (40, 30, 20)]
    prepared = []

    def each(approval: Approval) -> None:
        prepared.append((approval.pk, approval.updated_at))

    with django_capture_on_commit_callbacks(execute=True):
        customers = requeue_stale(
            Approval.objects.all(),
            older_than=timedelta(minutes=5),
            task="apps.approvals.tasks.approval_execute",
            send="customer_id",
            now=NOW,
            limit=2,
            each=each,
        )

    assert customers == [rows[0].customer_id, rows[1].customer_id]
    assert sent.names() == ["apps.approvals.tasks.approval_execute"] * 2
    assert [args for _, args, _ in sent] == [(rows[0].customer_id,), (rows[1].customer_id,)]
    # `each` saw each row as it was, before it was touched.
    assert prepared == [(rows[0].pk, NOW - timedelta(minutes=40)), (rows[1].pk, NOW - timedelta(minutes=30))]
    assert Approval.objects.get(pk=rows[2].pk).updated_at == NOW - timedelta(minutes=20)  # the next sweep's


def test_nothing_is_sent_when_the_surrounding_transaction_rolls_back(sent, django_capture_on_commit_callbacks):
    stale = _approved(30)

    def sweep_then_fail() -> None:
        with transaction.atomic():
            requeue_stale(Approval.objects.all(), older_than=timedelta(minutes=5), task="any.task", now=NOW)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        sweep_then_fail()

    assert sent == []
    assert Approval.objects.get(pk=stale.pk).updated_at == NOW - timedelta(minutes=30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweeps_running_at_once_on_postgres_send_each_stale_row_once(sent):
    rows = [_approved(30) for _ in range(6)]

    outcomes = concurrently(
        4,
        lambda _: requeue_stale(
            Approval.objects.filter(status=ApprovalStatus.APPROVED),
            older_than=timedelta(minutes=5),
            task="apps.approvals.tasks.approval_execute",
        ),
    )

    assert sorted(pk for outcome in outcomes for pk in outcome) == sorted(row.pk for row in rows)
    assert sorted(args for _, args, _ in sent) == sorted((row.pk,) for row in rows)
