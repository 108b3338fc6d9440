"""Tasks are queued by name (apps/core/effects.enqueue), so that the module queuing work never
imports the tasks module. A misspelt name would only fail in a worker: every name is checked here."""

import ast
from pathlib import Path

from contactcenter.celery import app as celery_app

APPS = Path(__file__).resolve().parents[2] / "apps"


def queued_names() -> dict[str, str]:
    """Every task name given to enqueue or enqueue_later in the code, and where."""
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
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("enqueue", "enqueue_later")
                and node.args
            ):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names[first.value] = f"{path.relative_to(APPS.parent)}:{node.lineno}"
                elif isinstance(first, ast.Name) and first.id in constants:
                    names[constants[first.id]] = f"{path.relative_to(APPS.parent)}:{node.lineno}"
    return names


def test_every_task_queued_by_name_is_a_registered_task():
    celery_app.loader.import_default_modules()
    names = queued_names()
    assert "apps.analysis.tasks.call_analyze_task" in names  # the scan finds them
    assert "apps.telephony.tasks.call_place_task" in names  # through a module constant too
    unknown = {name: where for name, where in names.items() if name not in celery_app.tasks}
    assert unknown == {}
