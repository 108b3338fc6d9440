"""ASGI entry point: HTTP through Django, WebSockets through Channels (each route guards itself)."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from apps.agent.routing import websocket_urlpatterns as agent_sockets  # noqa: E402
from apps.telephony.routing import websocket_urlpatterns as telephony_sockets  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": URLRouter(telephony_sockets + agent_sockets)})
