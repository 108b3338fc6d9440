"""OpenTelemetry traces: every call one trace, exported over OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Unset, `start()`
returns None, nothing is recorded and the SDK is never imported.

**One trace per call, across processes.** A call's trace id is derived from its id (an HMAC keyed
by DJANGO_SECRET_KEY, which every process of a deployment shares): the webhook that answered it,
its relay socket and turns on a web process, its dial and analysis on a worker all compute the same
id without passing anything along, and a task re-sent by a sweep still joins it. The webhooks,
sockets and tasks are the roots of that trace; turns are children of their socket's span, LLM
requests, tool calls and guardrail hits children of their turn.

**Spans are decided at their end.** A webhook or a task often learns which call it is about only
as it runs (the inbound webhook creates the call; a status callback finds it by CallSid), so a
`Span` here is a small record: its start, attributes and children are kept in memory, and it is
handed to the SDK (with its times, its pre-drawn span id and its call's trace id) when it ends,
once `bind_call()` told it its call. Handing over is cheap (the batch processor queues it; its
own thread exports), so a live turn never waits on the network.
"""

import functools
import hashlib
import hmac
import logging
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

SERVICE_NAME = "contactcenter"
CALL_ID = "cc.call_id"  # the attribute naming a span's call, on every span of a call


def _span_id() -> int:
    return random.getrandbits(64) or 1


@dataclass(eq=False, slots=True)
class Span:
    """A span being recorded (see the module's docstring): exported by `finish()`."""

    name: str
    kind: str = "internal"  # "server", "client", "consumer", "internal"
    attributes: dict[str, Any] = field(default_factory=dict)
    call_id: int | None = None
    parent: "Span | None" = None
    start_ns: int = field(default_factory=time.time_ns)
    end_ns: int = 0
    span_id: int = field(default_factory=_span_id)
    error: str = ""
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    # Finished children whose trace was not known yet (their call is bound later): exported with this.
    held: list["Span"] = field(default_factory=list)

    def set(self, **attributes: Any) -> None:
        self.attributes.update(attributes)

    def event(self, name: str, **attributes: Any) -> None:
        self.events.append((name, time.time_ns(), attributes))

    def child(self, name: str, *, kind: str = "internal", start_ns: int | None = None, **attributes: Any) -> "Span":
        return Span(name, kind, attributes, parent=self, start_ns=start_ns or time.time_ns())

    def bound_call(self) -> int | None:
        span: Span | None = self
        while span is not None:
            if span.call_id is not None:
                return span.call_id
            span = span.parent
        return None


# --- the SDK, set up once per process when an endpoint is configured -----------------------------

_current: ContextVar[Span | None] = ContextVar("telemetry_span", default=None)
# The ids the next span the SDK starts must have: (trace id, span id), set around `start_span`.
_forced: ContextVar[tuple[int, int] | None] = ContextVar("telemetry_forced_ids", default=None)


def traces_endpoint() -> str:
    """Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT
    + /v1/traces (the OTLP/HTTP convention); "" when neither is set."""
    if settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:
        return settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    return ""


@functools.cache
def _provider() -> Any:
    """This process's tracer provider, or None when no endpoint is set. The SDK's batch processor
    queues finished spans and exports them from its own thread (re-made in a forked child)."""
    endpoint = traces_endpoint()
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    class CallIds(RandomIdGenerator):
        """The ids a span was given when it was recorded (its call's trace), else random ones."""

        def generate_trace_id(self) -> int:
            forced = _forced.get()
            return forced[0] if forced else super().generate_trace_id()

        def generate_span_id(self) -> int:
            forced = _forced.get()
            return forced[1] if forced else super().generate_span_id()

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    # Every call is kept whole: sampling, if any, belongs in the collector (tail sampling), since
    # a call's spans come from several processes that could not agree on a head decision cheaply.
    provider = TracerProvider(resource=resource, id_generator=CallIds(), sampler=ALWAYS_ON)
    # Headers (e.g. Langfuse's Authorization), timeout and compression: the standard OTEL_* variables.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    logger.info("OpenTelemetry: exporting traces to %s", endpoint)
    return provider


@functools.cache
def _tracer() -> Any:
    provider = _provider()
    return provider.get_tracer("contactcenter") if provider is not None else None


def enabled() -> bool:
    return _tracer() is not None


def setup() -> None:
    """Set the exporter up now (a process's start), not in the first call's turn."""
    enabled()


def flush(timeout_s: float = 10.0) -> bool:
    """Export what is queued now (tests; a process about to exit). True when all of it went."""
    provider = _provider()
    return True if provider is None else provider.force_flush(int(timeout_s * 1000))


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("OTEL_"):
        provider = _provider() if _provider.cache_info().currsize else None
        _tracer.cache_clear()
        _provider.cache_clear()
        if provider is not None:
            provider.shutdown()


def call_trace_id(call_id: int) -> int:
    """The trace id of a call, the same in every process of this deployment."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"otel-trace:call:{call_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big") or 1


# --- recording ----------------------------------------------------------------------------------


def start(
    name: str, *, kind: str = "internal", call_id: int | None = None, parent: Span | None = None, **attributes: Any
) -> Span | None:
    """A span starting now (None when tracing is off): a root, or `parent`'s child."""
    if not enabled():
        return None
    span = Span(name, kind, attributes, call_id=call_id, parent=parent)
    if call_id is not None:
        span.attributes[CALL_ID] = call_id
    return span


def current() -> Span | None:
    """The span `active()` opened around the code running now (a webhook, a task), if any."""
    return _current.get()


def bind_call(call_id: int | None, span: Span | None = None) -> None:
    """`span` (default: the current one) is about this call: it joins the call's trace."""
    span = span or _current.get()
    if span is not None and call_id is not None and span.call_id is None:
        span.call_id = call_id
        span.attributes[CALL_ID] = call_id


def finish(span: Span | None, *, error: str = "", end_ns: int | None = None, **attributes: Any) -> None:
    """End `span` now (or at `end_ns`) and export it, or keep it for its parent while its call is
    not known yet."""
    if span is None:
        return
    span.end_ns = end_ns or time.time_ns()
    span.attributes.update(attributes)
    if error:
        span.error = error
    call_id = span.bound_call()
    if call_id is not None:
        _export(span, call_trace_id(call_id))
    elif span.parent is not None:
        span.parent.held.append(span)
    else:
        _export(span, random.getrandbits(128) or 1)


@contextmanager
def active(
    name: str, *, kind: str = "internal", call_id: int | None = None, **attributes: Any
) -> Iterator[Span | None]:
    """A span around a block of synchronous code (a webhook, a task), current inside it: what the
    block records (`current()`) becomes its child, and `bind_call()` names its call."""
    span = start(name, kind=kind, call_id=call_id, parent=_current.get(), **attributes)
    if span is None:
        yield None
        return
    token = _current.set(span)
    error = ""
    try:
        yield span
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        raise
    finally:
        _current.reset(token)
        finish(span, error=error)


def begin(
    name: str, *, kind: str = "internal", call_id: int | None = None, **attributes: Any
) -> tuple[Span, Any] | None:
    """`active()` for code whose start and end are two callbacks (Celery's task_prerun/postrun,
    on one thread): returns what `end()` takes."""
    span = start(name, kind=kind, call_id=call_id, parent=_current.get(), **attributes)
    return None if span is None else (span, _current.set(span))


def end(begun: tuple[Span, Any] | None, *, error: str = "", **attributes: Any) -> None:
    if begun is None:
        return
    span, token = begun
    try:
        _current.reset(token)
    except ValueError:  # reset from another context: it is no longer current there anyway
        _current.set(span.parent)
    finish(span, error=error, **attributes)


# --- handing spans to the SDK -------------------------------------------------------------------

_KINDS = {"server": 1, "client": 2, "producer": 3, "consumer": 4}


def _export(span: Span, trace_id: int) -> None:
    try:
        _emit(span, trace_id)
    except Exception:  # telemetry never breaks a call
        logger.warning("could not export span %s", span.name, exc_info=True)


def _emit(span: Span, trace_id: int) -> None:
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

    tracer = _tracer()
    if tracer is None:
        return
    if span.parent is None:
        context = Context()
    else:
        parent = SpanContext(trace_id, span.parent.span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        context = trace.set_span_in_context(NonRecordingSpan(parent))
    attributes = {key: value for key, value in span.attributes.items() if value is not None}
    token = _forced.set((trace_id, span.span_id))
    try:
        otel = tracer.start_span(
            span.name,
            context=context,
            kind=SpanKind(_KINDS.get(span.kind, 0)),
            attributes=attributes,
            start_time=span.start_ns,
        )
    finally:
        _forced.reset(token)
    for name, at, event_attributes in span.events:
        otel.add_event(name, {k: v for k, v in event_attributes.items() if v is not None}, timestamp=at)
    if span.error:
        otel.set_status(Status(StatusCode.ERROR, span.error))
    otel.end(end_time=max(span.end_ns, span.start_ns))
    held, span.held = span.held, []
    for child in held:
        _emit(child, trace_id)
