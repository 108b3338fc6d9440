"""ASGI entry point: HTTP through Django behind a request-size limit, WebSockets through Channels
(each route guards itself: browser sockets by origin and session, Twilio's by signature)."""

import gc
import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from apps.agent import llm  # noqa: E402
from apps.chat.routing import websocket_urlpatterns as chat_sockets  # noqa: E402
from apps.console.routing import websocket_urlpatterns as console_sockets  # noqa: E402
from apps.core.body_limit import RequestBodyLimit  # noqa: E402
from apps.voice.routing import websocket_urlpatterns as voice_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": URLRouter(voice_sockets + chat_sockets + console_sockets),
    }
)

# The first caller on this process should not wait for the LLM client's one-time setup.
llm.warm_up()

# Live calls cannot wait for the garbage collector: a full collection walking everything loaded at
# startup paused this process for 110-130 ms (bench/relay_turns.py), stalling every call on it.
# Load the code now (the URLconf imports every view), then move it out of the collector's sight.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
