"""The LLM: any OpenAI-compatible Chat Completions endpoint, with one fallback chain and two faces.

The chain is LLM_MODEL (or, for the analysis, LLM_ANALYSIS_MODEL) then LLM_FALLBACK_MODELS, each
"model" (same endpoint) or "model@base_url". A model that fails before it has said anything
(connection, timeout, 5xx, bad response) is skipped for the next; each endpoint has a circuit
breaker shared by all processes and by both faces (apps/core/breakers.py); no client retries on
its own. When all fail the caller gets LLMUnavailable.

    endpoints.py  the chain and the walk down it (breakers obeyed, attempts recorded and reported),
                  the clients' options (timeouts, TLS), what counts against an endpoint
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
    configured,
    cost_usd,
    degraded,
)
from apps.agent.llm.streaming import stream, warm_up

__all__ = [
    "Attempt",
    "Completion",
    "Endpoint",
    "LLMStreamBroken",
    "LLMUnavailable",
    "Rejected",
    "ToolCall",
    "complete",
    "configured",
    "cost_usd",
    "degraded",
    "stream",
    "warm_up",
]
