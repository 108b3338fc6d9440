from django.apps import AppConfig
from django.conf import settings


class AgentConfig(AppConfig):
    name = "apps.agent"
    verbose_name = "Live agent"

    def ready(self) -> None:
        from apps.agent import llm
        from apps.agent.workflows import WORKFLOWS, candidate_of
        from apps.core import breakers, health

        for name in WORKFLOWS:  # a wrong AGENT_CANDIDATES stops the process here, not a call later
            candidate_of(name)

        health.register_degradation("llm", llm.degraded)
        breakers.watch(_endpoints)  # their breakers' state in /metrics


def _endpoints() -> list[str]:
    """Every model endpoint the live agent and the analysis may use."""
    from apps.agent.llm.endpoints import chain, configured

    if not configured():
        return []
    return [endpoint.label for endpoint in chain() + chain(first=settings.ANALYSIS_MODEL)]
