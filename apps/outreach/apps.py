from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "apps.outreach"
    verbose_name = "Follow-ups"
