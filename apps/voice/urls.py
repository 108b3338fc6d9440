from django.urls import path

from apps.voice import views

app_name = "voice"

urlpatterns = [
    path("voice/inbound/", views.inbound, name="inbound"),
    path("voice/outbound/<int:call_id>/", views.outbound, name="outbound"),
    path("voice/relay-action/", views.relay_action, name="relay-action"),
    path("voice/status/", views.status, name="status"),
    path("voice/amd/", views.amd, name="amd"),
    path("voice/whisper/<int:call_id>/", views.whisper, name="whisper"),
    path("voice/after-person/<int:call_id>/", views.after_person, name="after-person"),
    path("sms/inbound/", views.sms_inbound, name="sms-inbound"),
]
