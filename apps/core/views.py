from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import health_report


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    status, checks = await health_report()
    return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)
