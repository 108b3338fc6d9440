from django.urls import path

from apps.console import review, scenario_export, test_call, views
from apps.console.supervise import supervise

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("counts/", views.counts, name="counts"),
    path("monitor/", views.monitor, name="monitor"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:call_id>/", views.call, name="call"),
    path("calls/<int:call_id>/timeline/", views.call_timeline, name="call_timeline"),
    path("calls/<int:call_id>/outcomes/", views.call_outcomes_part, name="call_outcomes"),
    path("calls/<int:call_id>/scenario/", scenario_export.export_scenario, name="export_scenario"),
    path("calls/<int:call_id>/<slug:action>/", supervise, name="supervise"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:approval_id>/decide/", views.decide, name="decide"),
    path("review/", review.review_list, name="review"),
    path("review/<int:analysis_id>/", review.review_submit, name="review_submit"),
    path("test-call/", test_call.test_call, name="test_call"),
]
