"""The broker boundary in tests: what would have been sent to Celery, recorded instead."""

from contactcenter.celery import app as celery_app


class SentTasks(list):
    """(task name, args, kwargs) in the order they were sent."""

    def names(self) -> list[str]:
        return [name for name, _, _ in self]


def record_sent_tasks(monkeypatch) -> SentTasks:
    """Replace Celery's send_task, the one way our tasks leave the process, with a recorder."""
    sent = SentTasks()

    def send_task(name, args=None, kwargs=None, **options):
        sent.append((name, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent
