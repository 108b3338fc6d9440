from django.urls import path

from apps.voice.consumers import RelayConsumer

# The ConversationRelay socket, where the TwiML of a call (apps/voice/views.py) sends Twilio.
RELAY_PATH = "ws/twilio/relay/"

# Twilio's socket has no browser Origin and no session: its signature is its authentication.
websocket_urlpatterns = [path(RELAY_PATH, RelayConsumer.as_asgi())]
