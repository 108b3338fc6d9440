"""The LLM: any OpenAI-compatible Chat Completions endpoint, with one fallback chain and two faces.

The chain is LLM_MODEL (or, for the analysis, LLM_ANALYSIS_MODEL) then LLM_FALLBACK_MODELS, each
"model" (same endpoint) or "model@base_url". A model that fails before it has said anything
(connection, timeout, 5xx, bad response) is skipped for the next; each endpoint has a circuit
breaker shared by all processes and by both faces (apps/core/breakers.py); no client retries on
its own. When all fail the caller gets LLMUnavailable.

    endpoints.py  the chain, its clients' timeouts and TLS, the breaker rules, the attempt record
    streaming.py  `stream()`, async: a live turn's reply as it arrives, within the turn's time
                  budget (apps/agent/clock.py); the offline engine answers when it raises
    blocking.py   `complete()`, sync: one checked answer for work off the call (the analysis)
"""

from apps.agent.llm.blocking import Rejected, complete
from apps.agent.llm.endpoints import (
    Attempt,
    Completion,
    Endpoint,
    LLMStreamBroken,
    LLMUnavailable,
    ToolCall,
    chain,
    configured,
    cost_usd,
    degraded,
    endpoint,
    timeouts,
    tls_context,
    transient,
)
from apps.agent.llm.streaming import FAIR_WAIT_S, MIN_WAIT_S, stream, warm_up

__all__ = [
    "FAIR_WAIT_S",
    "MIN_WAIT_S",
    "Attempt",
    "Completion",
    "Endpoint",
    "LLMStreamBroken",
    "LLMUnavailable",
    "Rejected",
    "ToolCall",
    "chain",
    "complete",
    "configured",
    "cost_usd",
    "degraded",
    "endpoint",
    "stream",
    "timeouts",
    "tls_context",
    "transient",
    "warm_up",
]
