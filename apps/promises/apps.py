from django.apps import AppConfig


class PromisesConfig(AppConfig):
    name = "apps.promises"
    verbose_name = "Promises and payments"
