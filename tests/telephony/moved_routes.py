"""A URLconf that mounts the voice channel's routes somewhere else (tests/telephony/test_routes.py):
every URL we hand Twilio must follow them."""

from django.urls import include, path

urlpatterns = [path("phone/", include("apps.voice.urls"))]
