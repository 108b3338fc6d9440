from django.urls import path

from apps.voice.consumers import RelayConsumer

# Twilio's socket has no browser Origin and no session: its signature is its authentication.
websocket_urlpatterns = [path("ws/twilio/relay/", RelayConsumer.as_asgi())]
