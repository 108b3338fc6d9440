from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "apps.dispatch"
    verbose_name = "Dispatch"
