from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "apps.telephony"
    verbose_name = "Telephony (Twilio)"
