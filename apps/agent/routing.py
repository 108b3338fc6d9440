from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from apps.agent.consumers import ChatConsumer

# Browser sockets: same-origin only, with the signed-in user's session.
websocket_urlpatterns = [path("ws/chat/", AllowedHostsOriginValidator(AuthMiddlewareStack(ChatConsumer.as_asgi())))]
