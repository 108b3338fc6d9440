"""Django middleware of our own (the ASGI-level guards are in body_limit.py and origins.py)."""

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.decorators import sync_and_async_middleware

from apps.core import metrics

API_PREFIX = "/api/"


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX)


def _no_store(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if is_api(request.path_info):
        patch_cache_control(response, no_store=True)
    return response


@sync_and_async_middleware
def api_no_store(get_response):
    """`Cache-Control: no-store` on every answer under /api/: they carry customers' personal data,
    which no browser or shared cache may keep. Errors and refusals included, whoever made them."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            return _no_store(request, await get_response(request))

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        return _no_store(request, get_response(request))

    return middleware


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _counted(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    method = request.method if request.method in METHODS else "other"  # a client's whim is no new series
    metrics.HTTP_REQUESTS.labels(method, str(response.status_code)).inc()
    return response


@sync_and_async_middleware
def count_requests(get_response):
    """Every answer counted for /metrics, by method and status code (first: redirects and refusals too)."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            return _counted(request, await get_response(request))

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        return _counted(request, get_response(request))

    return middleware
