from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.core.metrics import metrics_view
from apps.core.views import healthz
from contactcenter.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:home", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("console/", include("apps.console.urls")),
    path("analytics/", include("apps.analytics.urls")),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus: token or allow-list (README)
    path("twilio/", include("apps.voice.urls")),
]

# Django's error pages, JSON under /api/.
handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
