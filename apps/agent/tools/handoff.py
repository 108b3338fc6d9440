"""Handing the caller to a person. The channel performs the transfer; this records why."""

from typing import Annotated

from pydantic import Field

from apps.agent.tools.registry import ToolContext, tool


@tool(description="Transfer the caller to a person: they asked for one, or you cannot help within the rules.")
def transfer_to_human(ctx: ToolContext, reason: Annotated[str, Field(min_length=3, max_length=200)]) -> dict:
    ctx.state.handoff = {"reason": reason}
    return {"transferring": True}
