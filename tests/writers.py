"""One writer per model, checked on every write the suite makes.

Each of our models is written only by its own app: other apps call that app's services. While
the suite runs, every INSERT and UPDATE Django compiles, and every delete a model or queryset is
asked for, is traced back to the innermost frame of our code (`apps/<app>/...`) that caused it;
when that app is not the model's own, the test that made the write fails, naming the module,
the line and the model. Writes from tests, factories and Django itself (no frame of ours nearer
than a test's) are not policed, and a cascade is the deleting app's own delete.

Allowed on purpose (WRITERS_ALLOWED): the demo seeder, which inserts the sample rows of every app
with their historical timestamps, and the admin's audited base class.
"""

import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Model, QuerySet
from django.db.models.sql import compiler

ROOT = Path(__file__).resolve().parent.parent
APPS, TESTS = ROOT / "apps", ROOT / "tests"
# Module prefixes allowed to write any app's rows, and why.
WRITERS_ALLOWED = {
    "apps.demo.": "the demo seeder inserts every app's sample rows, dated in the past",
    "apps.core.admin": "the audited ModelAdmin base saves what each app's own admin page edits",
}
# Shared helpers that write the rows their caller chose: the caller is the writer.
WRITES_FOR_CALLER = {
    "apps.core.tasking": "requeue_stale touches the stale rows its caller selected",
}


@dataclass(frozen=True)
class Write:
    action: str
    model: str  # app_label.ModelName
    module: str  # apps.x.y
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} {self.action}s {self.model}"


def writer_of(frame) -> tuple[str, int] | None:
    """The innermost module of ours on the stack (not a migration), with its line; None when a
    test's own code (a factory, a tool a test defines) is nearer the write."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(TESTS) and path.name != "writers.py":
            return None
        if path.is_relative_to(APPS) and "migrations" not in path.parts:
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module not in WRITES_FOR_CALLER:
                return module, frame.f_lineno
        frame = frame.f_back
    return None


def foreign(model: type[Model], writer: tuple[str, int] | None, action: str) -> Write | None:
    """The write, when the module making it belongs to another app than the model's."""
    if writer is None or not model.__module__.startswith("apps."):
        return None
    module, line = writer
    owner = model.__module__.split(".")[1]
    if module.split(".")[1] == owner or any(module.startswith(prefix) for prefix in WRITERS_ALLOWED):
        return None
    return Write(action, f"{model._meta.app_label}.{model.__name__}", module, line)


class WriteLog:
    """The foreign writes seen since the last `take()`, from any thread (channels' database
    thread, the live server, a worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Write] = []
        self._originals: list[tuple[object, str, object]] = []
        self._deleting = threading.local()

    def record(self, model: type[Model], action: str) -> None:
        if getattr(self._deleting, "depth", 0) and action == "update":
            return  # a delete's SET_NULL/cascade updates belong to the delete
        write = foreign(model, writer_of(sys._getframe(2)), action)
        if write is not None:
            with self._lock:
                self._seen.append(write)

    def take(self) -> list[Write]:
        with self._lock:
            seen, self._seen = self._seen, []
        return seen

    def install(self) -> None:
        log = self

        def compiled(cls, action):
            original = cls.execute_sql

            def execute_sql(self, *args, **kwargs):
                log.record(self.query.model, action)
                return original(self, *args, **kwargs)

            self._originals.append((cls, "execute_sql", original))
            cls.execute_sql = execute_sql

        def deleting(cls):
            original = cls.delete

            def delete(self, *args, **kwargs):
                log.record(self.model if isinstance(self, QuerySet) else type(self), "delete")
                log._deleting.depth = getattr(log._deleting, "depth", 0) + 1
                try:
                    return original(self, *args, **kwargs)
                finally:
                    log._deleting.depth -= 1

            self._originals.append((cls, "delete", original))
            cls.delete = delete

        compiled(compiler.SQLInsertCompiler, "insert")
        compiled(compiler.SQLUpdateCompiler, "update")
        deleting(Model)
        deleting(QuerySet)

    def uninstall(self) -> None:
        for cls, name, original in reversed(self._originals):
            setattr(cls, name, original)
        self._originals.clear()
