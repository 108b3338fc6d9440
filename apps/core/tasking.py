"""The base of every Celery task here: a row that is gone is one warning, not an error.

Tasks take ids and re-read their rows. When a row was deleted in between (a call or customer
removed, a test call cleaned up), there is nothing left to do: an error would page someone for
nothing, and a retry would fail the same way until its retries ran out. So `ObjectDoesNotExist`
reaching the task boundary is logged once, naming the task and its arguments, and the task ends
normally. Use it as `@shared_task(base=RowTask, ...)`.
"""

import logging
from typing import Any

from celery import Task
from django.core.exceptions import ObjectDoesNotExist

logger = logging.getLogger(__name__)


class RowTask(Task):
    # Celery's documented way to wrap a task's body: override __call__ and call run() (calling
    # super().__call__ would push a second request, and bound tasks would lose their retry count).
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.run(*args, **kwargs)
        except ObjectDoesNotExist as exc:
            arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            logger.warning("%s(%s): %s Nothing to do; not retried.", self.name, arguments, exc)
            return None
