from channels.auth import AuthMiddlewareStack
from django.urls import path

from apps.console.consumers import ConsoleConsumer
from apps.core.origins import SameOriginValidator

# Browser sockets: same origin only (scheme, host and port), with the signed-in user's session.
websocket_urlpatterns = [path("ws/console/", SameOriginValidator(AuthMiddlewareStack(ConsoleConsumer.as_asgi())))]
