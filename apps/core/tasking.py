"""What every Celery task here shares: a row that is gone, bounded retries, and lost work resent.

`RowTask`, the base of every task: tasks take ids and re-read their rows. When a row was deleted
in between (a call or customer removed, a test call cleaned up), there is nothing left to do: an
error would page someone for nothing, and a retry would fail the same way until its retries ran
out. So `ObjectDoesNotExist` reaching the task boundary is logged once, naming the task and its
arguments, and the task ends normally. Use it as `@shared_task(base=RowTask, ...)`.

`retrying_task`: work that fails for a while (a model or Twilio unreachable, a database hiccup)
is retried with exponential backoff and full jitter, a bounded number of times; then a give-up
hook records the failure on the row, visibly, and its answer is the task's result.

`requeue_stale`: a row left waiting for a task past a time limit lost that task (a crash between
commit and send, a lost message): the periodic sweeps send it again.

`task_started`/`task_finished` (Celery's task_prerun/postrun, connected in apps/core/apps.py):
every task run is counted and timed for /metrics and, with tracing on, is a span; a task with a
`call_id` argument joins that call's trace.
"""

import functools
import inspect
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.utils import timezone

from apps.core import metrics, telemetry
from apps.core.effects import enqueue

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)


class RowTask(Task):
    # Celery's documented way to wrap a task's body: override __call__ and call run() (calling
    # super().__call__ would push a second request, and bound tasks would lose their retry count).
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.body(*args, **kwargs)
        except ObjectDoesNotExist as exc:
            arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            logger.warning("%s(%s): %s Nothing to do; not retried.", self.name, arguments, exc)
            return None

    def body(self, *args: Any, **kwargs: Any) -> Any:
        """The task's work (its function), as a subclass wraps it."""
        return self.run(*args, **kwargs)


# --- retry with backoff, then give up -----------------------------------------------------------

BACKOFF_S = 30  # the first retry's longest wait; each retry doubles it...
BACKOFF_MAX_S = 600  # ...up to this


class RetryingTask(RowTask):
    """A RowTask that retries the errors in `retry_for` (waiting a random time up to `backoff_s`
    doubling each time, at most `backoff_max_s`), and after `max_retries` retries answers
    `give_up(exc, *args, **kwargs)`. Any other error fails the task at once (a 4xx never gets
    better). Made by `retrying_task`."""

    retry_for: tuple[type[BaseException], ...] = ()
    backoff_s: float = BACKOFF_S
    backoff_max_s: float = BACKOFF_MAX_S

    @staticmethod
    def give_up(exc: BaseException, *args: Any, **kwargs: Any) -> Any:
        """The retries ran out: by default the task fails with the last error."""
        raise exc

    def body(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.run(*args, **kwargs)
        except self.retry_for as exc:
            if self.request.retries >= self.max_retries:
                return self.give_up(exc, *args, **kwargs)
            countdown = get_exponential_backoff_interval(
                self.backoff_s, self.request.retries, self.backoff_max_s, full_jitter=True
            )
            raise self.retry(exc=exc, countdown=countdown) from exc


def retrying_task(
    *,
    retry_for: tuple[type[BaseException], ...],
    max_retries: int,
    give_up: Callable[..., Any] | None = None,
    backoff_s: float = BACKOFF_S,
    backoff_max_s: float = BACKOFF_MAX_S,
    **options: Any,
) -> Callable[[Callable[..., Any]], RetryingTask]:
    """`@shared_task` for work worth retrying: `retry_for` errors are retried with backoff and
    full jitter, `max_retries` times; then `give_up(exc, *the task's arguments)` records the
    failure and its answer is the task's result (without one, the task fails with the error).
    `options` are shared_task's (time limits...)."""
    if give_up is not None:
        options["give_up"] = staticmethod(give_up)  # a class attribute of the task: not a method
    return shared_task(
        base=RetryingTask,
        retry_for=tuple(retry_for),
        max_retries=max_retries,
        backoff_s=backoff_s,
        backoff_max_s=backoff_max_s,
        **options,
    )


# --- rows whose task was lost -------------------------------------------------------------------

REQUEUE_BATCH = 500  # rows per sweep: a backlog drains over a few sweeps rather than in one burst


def requeue_stale(
    rows: "models.QuerySet[M]",
    *,
    older_than: timedelta,
    task: str,
    send: str = "pk",
    now: datetime | None = None,
    limit: int = REQUEUE_BATCH,
    each: Callable[[M], None] | None = None,
) -> list[Any]:
    """Queue `task` again for the rows of `rows` (already filtered to the status that waits for
    it) untouched for longer than `older_than`; returns the values sent, oldest row first.

    Each row is claimed (`skip_locked`: two sweeps never take one row), given to `each` (to put
    it back in the state the task expects, say), and touched (`updated_at` is now), so the next
    sweep leaves it alone while this send is on its way; `task` (its dotted name) is sent with
    the row's `send` field after commit. Safe to repeat: the task claims its row itself."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            rows.filter(updated_at__lt=now - older_than)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("updated_at", "pk")[:limit]
        )
        for row in stale:
            if each is not None:
                each(row)
        rows.model._default_manager.filter(pk__in=[row.pk for row in stale]).update(updated_at=now)
        sent = [getattr(row, send) for row in stale]
        for value in sent:
            enqueue(task, value)
    return sent


# --- every task run: counted, timed and traced ------------------------------------------------

# Runs in progress, by task id: a stack, since an eager retry runs inside the run it retries.
_running: dict[str, list[tuple[Any, float]]] = {}


@functools.cache
def _signature(task: Task) -> inspect.Signature | None:
    try:
        return inspect.signature(task.run)
    except (TypeError, ValueError):
        return None


def _call_of(task: Task, args: Any, kwargs: Any) -> int | None:
    """The call a task is about: its `call_id` argument, if it has one."""
    signature = _signature(task)
    if signature is None or "call_id" not in signature.parameters:
        return None
    try:
        call_id = signature.bind_partial(*(args or ()), **(kwargs or {})).arguments.get("call_id")
    except TypeError:
        return None
    return call_id if isinstance(call_id, int) else None


def task_started(*, task_id: str, task: Task, args: Any = None, kwargs: Any = None, **_: Any) -> None:
    delivery = getattr(task.request, "delivery_info", None) or {}
    begun = telemetry.begin(
        f"task {task.name}",
        kind="consumer",
        call_id=_call_of(task, args, kwargs),
        **{
            "messaging.system": "celery",
            "messaging.destination.name": delivery.get("routing_key"),
            "celery.task_name": task.name,
            "celery.task_id": task_id,
            "celery.retries": task.request.retries or 0,
        },
    )
    _running.setdefault(task_id, []).append((begun, time.perf_counter()))


def task_finished(*, task_id: str, task: Task, state: str | None = None, retval: Any = None, **_: Any) -> None:
    runs = _running.get(task_id)
    if not runs:
        return
    begun, started = runs.pop()
    if not runs:
        _running.pop(task_id, None)
    outcome = {"SUCCESS": "success", "RETRY": "retry"}.get(state or "", "failure")
    metrics.TASKS.labels(task.name, outcome).inc()
    metrics.TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    error = (
        f"{type(retval).__name__}: {retval}"[:300] if outcome == "failure" and isinstance(retval, BaseException) else ""
    )
    telemetry.end(begun, error=error, **{"celery.state": state})
