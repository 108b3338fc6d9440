from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "apps.voice"
    verbose_name = "Voice calls (Twilio)"
