"""Helpers shared by the approval tests."""

from contactcenter.celery import app as celery_app


class SentTasks(list):
    """Records what would go to the broker: (task name, args, queue)."""

    def names(self) -> list[str]:
        return [name for name, _, _ in self]


def record_sent_tasks(monkeypatch) -> SentTasks:
    """Replace the broker boundary (Celery's send_task) with a recorder."""
    sent = SentTasks()

    def send_task(name, args=None, kwargs=None, **options):
        sent.append((name, tuple(args or ()), options.get("queue")))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent
