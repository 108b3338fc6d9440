from django.apps import AppConfig


class AgentConfig(AppConfig):
    name = "apps.agent"
    verbose_name = "Live agent"
