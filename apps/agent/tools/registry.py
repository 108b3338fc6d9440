"""Tools: typed Python functions the agent may call, each step allowing only its own.

A tool's JSON schema is derived from its signature (pydantic), arguments are validated on the
server, and every failure goes back to the model as a structured result, never an exception:

    {"status": "ok", ...data}
    {"status": "validation_error", "errors": [...]}      the arguments were wrong
    {"status": "refused", "reason": "..."}              not allowed now (step, rules, authorization)
    {"status": "unavailable", "reason": "..."}          the system behind the tool is down
    {"status": "error", "reason": "..."}                the tool itself failed (a bug; logged)
"""

import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from django.db import DatabaseError, transaction
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from apps.agent.state import CallFacts, ConversationState
from apps.core.db import limit_database_time
from apps.core.services import Actor, audit_record

logger = logging.getLogger(__name__)


class ToolRefused(Exception):
    """The call is not allowed: wrong step, a business rule, or missing authorization."""


class ToolInvalid(Exception):
    """The arguments are well-formed but wrong for this customer or call (e.g. an ungrounded amount)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NotSandboxed(Exception):
    """A side-effecting tool ran on a test call without taking its test path (`sandboxed`)."""


class ToolUnavailable(Exception):
    """The system behind the tool did not answer."""


@dataclass
class ToolContext:
    call_id: int
    customer_id: int | None
    state: ConversationState
    today: date
    now: datetime
    actor: Actor  # "agent:call-<id>", or the Person behind a test call
    caller_text: str = ""  # everything the caller said in this call (redacted), for grounding checks
    test: bool = False  # a test call: side effects are recorded (sandboxed), never done


def sandboxed(ctx: ToolContext, action: str, **would: Any) -> dict[str, Any]:
    """What a test call's tool would have done: recorded on the call and in the audit trail (in
    the name of the person behind the call), and nothing else. The engine traces it (kind
    "sandboxed") from the result's "sandboxed" key; the model hears that nothing was recorded."""
    effect = {"action": action, **{name: str(value) if value is not None else None for name, value in would.items()}}
    facts = CallFacts.of(ctx.state)
    facts.test_effects = [*facts.test_effects, effect]
    audit_record(actor=ctx.actor, action=f"test_call.{action}", details={"call_id": ctx.call_id, **effect})
    return {"sandboxed": effect, "note": "test call: nothing was recorded or sent"}


@dataclass
class Tool:
    name: str
    description: str
    fn: Callable[..., dict[str, Any]]
    arguments: type[BaseModel]
    side_effect: bool

    @cached_property
    def openai_schema(self) -> dict[str, Any]:
        """The function's JSON schema for the model, computed once (it is sent with every request)."""
        parameters = self.arguments.model_json_schema()
        parameters.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }


TOOLS: dict[str, Tool] = {}


def tool(*, description: str, side_effect: bool = False) -> Callable:
    """Register a function `fn(ctx: ToolContext, **arguments) -> dict` as a tool."""

    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        fields: dict[str, Any] = {}
        for name, parameter in list(inspect.signature(fn).parameters.items())[1:]:
            if parameter.annotation is inspect.Parameter.empty:
                raise TypeError(f"tool {fn.__name__}: argument {name} needs a type")
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[name] = (parameter.annotation, default)
        arguments = create_model(
            f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid", str_strip_whitespace=True), **fields
        )
        TOOLS[fn.__name__] = Tool(fn.__name__, description, fn, arguments, side_effect)
        return fn

    return register


def args_key(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, default=str)


def run_tool(
    name: str, raw_arguments: str | dict[str, Any], ctx: ToolContext, allowed: tuple[str, ...]
) -> dict[str, Any]:
    """Validate and run one tool call. Never raises for the model's mistakes; returns a result dict."""
    if name not in allowed:
        return {
            "status": "refused",
            "reason": f"{name} is not available in this step; use one of: {', '.join(allowed) or 'none'}",
        }
    spec = TOOLS[name]
    try:
        parsed = json.loads(raw_arguments or "{}") if isinstance(raw_arguments, str) else raw_arguments
        arguments = spec.arguments.model_validate(parsed).model_dump()
    except json.JSONDecodeError:
        return {"status": "validation_error", "errors": [{"loc": [], "msg": "arguments are not valid JSON"}]}
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)]
        return {"status": "validation_error", "errors": errors}

    key = args_key(arguments)
    if spec.side_effect and (previous := ctx.state.previous_result(name, key)) is not None:
        return previous  # the same call twice has one effect
    try:
        with transaction.atomic():  # a tool's writes happen together or not at all
            limit_database_time()
            result = spec.fn(ctx, **arguments)
            if ctx.test and spec.side_effect and "sandboxed" not in result:
                raise NotSandboxed(name)  # fail closed: whatever it wrote is rolled back
    except NotSandboxed:
        logger.error("tool %s has no test-call path: refused on test call %s", name, ctx.call_id)
        return {"status": "refused", "reason": f"{name} is not available in a test call"}
    except ToolRefused as exc:
        return {"status": "refused", "reason": str(exc)}
    except ToolInvalid as exc:
        return {"status": "validation_error", "errors": [{"loc": [exc.field], "msg": exc.message}]}
    except (ToolUnavailable, DatabaseError) as exc:
        logger.warning("tool %s unavailable: %r", name, exc)
        return {"status": "unavailable", "reason": f"the system behind {name} did not answer"}
    except Exception:  # a bug: the caller must still get an answer, and the log and trace show it
        logger.exception("tool %s failed", name)
        return {"status": "error", "reason": f"{name} failed unexpectedly"}
    result = {"status": "ok", **result}
    ctx.state.tool_log.append({"name": name, "step": ctx.state.step, "args_key": key, "result": result})
    return result
