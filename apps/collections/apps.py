from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    """What a promise or a payment starts in the other apps: its text, its follow-ups, the
    nightly risk score. No models of its own."""

    name = "apps.collections"
    verbose_name = "Collections"
