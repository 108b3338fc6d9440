from django.urls import path

from apps.console import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("counts/", views.counts, name="counts"),
    path("monitor/", views.monitor, name="monitor"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:call_id>/", views.call, name="call"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:approval_id>/decide/", views.decide, name="decide"),
]
