"""Tasks are queued by name (apps/core/effects.enqueue, and apps/core/tasking.requeue_stale's
`task`), so that the module queuing work never imports the tasks module. A misspelt name would
only fail in a worker: every name is checked here."""

import ast
from pathlib import Path

from contactcenter.celery import app as celery_app

APPS = Path(__file__).resolve().parents[2] / "apps"


def queued_names() -> dict[str, str]:
    """Every task name given to enqueue, enqueue_later or requeue_stale in the code, and where."""
    names: dict[str, str] = {}
    for path in APPS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if called in ("enqueue", "enqueue_later") and node.args:
                given = node.args[0]
            elif called == "requeue_stale":
                given = next((k.value for k in node.keywords if k.arg == "task"), None)
            else:
                continue
            if isinstance(given, ast.Constant) and isinstance(given.value, str):
                names[given.value] = f"{path.relative_to(APPS.parent)}:{node.lineno}"
            elif isinstance(given, ast.Name) and given.id in constants:
                names[constants[given.id]] = f"{path.relative_to(APPS.parent)}:{node.lineno}"
    return names


def test_every_task_queued_by_name_is_a_registered_task():
    celery_app.loader.import_default_modules()
    names = queued_names()
    assert "apps.analysis.tasks.call_analyze_task" in names  # the scan finds them
    assert "apps.telephony.tasks.call_place_task" in names  # through a module constant too
    assert "apps.approvals.tasks.approval_execute" in names  # and a constant given to requeue_stale
    unknown = {name: where for name, where in names.items() if name not in celery_app.tasks}
    assert unknown == {}


def test_every_scheduled_and_routed_task_is_a_registered_task():
    """Beat's schedule and the queue routes name tasks too: names, not module paths (a task keeps
    its name when its code moves, `@shared_task(name=...)`), so each is checked here."""
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    routes = set(celery_app.conf.task_routes)
    routed = {name for name in routes if not name.endswith(".*")}
    assert "apps.outreach.tasks.followups_sweep_task" in scheduled  # the schedule is read
    assert "apps.telephony.tasks.call_place_task" in routed
    assert sorted(name for name in scheduled | routed if name not in celery_app.tasks) == []
    # A route by pattern names a module holding tasks.
    for pattern in routes - routed:
        assert any(name.startswith(pattern.removesuffix("*")) for name in celery_app.tasks), pattern
