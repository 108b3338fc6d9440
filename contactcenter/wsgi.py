"""WSGI entry point, for tools that want one. Production serves ASGI with daphne (asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

application = get_wsgi_application()
