from channels.auth import AuthMiddlewareStack
from django.urls import path

from apps.chat.consumers import ChatConsumer
from apps.core.origins import SameOriginValidator

# Browser sockets: same origin only (scheme, host and port), with the signed-in user's session.
websocket_urlpatterns = [path("ws/chat/", SameOriginValidator(AuthMiddlewareStack(ChatConsumer.as_asgi())))]
