from django.urls import path

from apps.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.analytics, name="page"),
    path("export.csv", views.export_csv, name="export"),
    path("calls/", views.calls, name="calls"),
]
