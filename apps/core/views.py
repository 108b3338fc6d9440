from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import health_report
from apps.core.middleware import is_api


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    status, checks = await health_report()
    return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)


# Django's own error pages (handler400/403/404/500 in the URLconf). The API's operations answer
# their errors themselves; these cover what Django answers before or around them (an unknown
# path, a refused host), so that under /api/ an error is still JSON {"detail": ...}.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request.path_info):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request.path_info):
        return JsonResponse({"detail": "Forbidden."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request.path_info):
        return JsonResponse({"detail": f"Not found: {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request.path_info):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
