from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery import signals

        from apps.core import tasking, telemetry

        # Every task, in every worker: counted and timed (/metrics), traced (OpenTelemetry).
        signals.task_prerun.connect(tasking.task_started, weak=False, dispatch_uid="cc-task-started")
        signals.task_postrun.connect(tasking.task_finished, weak=False, dispatch_uid="cc-task-finished")
        telemetry.setup()  # the exporter, when configured, before the first call needs it
