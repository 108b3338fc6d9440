"""A call exported as an evaluation scenario (supervisors): the redacted YAML, editable, checked
against the scenario schema, then downloaded to save under evals/scenarios/ (README "Agent
evaluation")."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from apps.calls.models import Call
from apps.console.access import console_page as page
from apps.console.views import render_page
from apps.core.services import audit_record
from apps.evals.export import NotExportable, export_yaml
from apps.evals.scenarios import ScenarioError, parse_scenario

MAX_SCENARIO_CHARS = 50_000


@page("scenario")
@require_http_methods(["GET", "POST"])
def export_scenario(request: HttpRequest, call_id: int) -> HttpResponse:
    call = Call.objects.select_related("customer").filter(pk=call_id).first()
    if call is None:
        raise Http404("No such call.")
    context = {"call": call, "filename": f"call_{call.pk}.yaml"}
    if request.method == "GET":
        try:
            context["text"] = export_yaml(call)
        except NotExportable as exc:
            context["refused"] = str(exc)
        return render_page(request, "console/scenario.html", context, current="calls")
    text = request.POST.get("scenario", "").replace("\r\n", "\n")
    context["text"] = text
    try:
        if len(text) > MAX_SCENARIO_CHARS:
            raise ScenarioError(f"the scenario is longer than {MAX_SCENARIO_CHARS} characters")
        parse_scenario(text, f"exported/call_{call.pk}")
    except ScenarioError as exc:
        context["error"] = str(exc)
        response = render_page(request, "console/scenario.html", context, current="calls")
        response.status_code = 400
        return response
    audit_record(actor=request.user, action="call.export_scenario", obj=call)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{context["filename"]}"'
    return response
