from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    """Twilio's records of our texts and calls: text messages (SmsMessage: confirmations sent,
    STOP/START/HELP received) and relay sessions (RelaySession: the one-time tokens a
    ConversationRelay socket is opened with). Twilio's protocols are apps/twilio; the voice
    channel that answers calls is apps/voice."""

    name = "apps.telephony"
    verbose_name = "Telephony (Twilio)"
