from django.apps import AppConfig


class AgentConfig(AppConfig):
    name = "apps.agent"
    verbose_name = "Live agent"

    def ready(self) -> None:
        from apps.agent import llm
        from apps.core import health

        health.register_degradation("llm", llm.degraded)
