"""Every tool the agent can call, registered by importing its module."""

from apps.agent.tools import account, handoff, payments, roadside  # noqa: F401  (registers the tools)
from apps.agent.tools.registry import TOOLS, Tool, ToolContext, run_tool

__all__ = ["TOOLS", "Tool", "ToolContext", "run_tool"]
