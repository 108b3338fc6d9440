"""The three roles are Django groups; their permissions are set by data migrations."""

SUPERVISORS = "Supervisors"
AGENTS = "Agents"
MANAGERS = "Managers"

ROLES = (SUPERVISORS, AGENTS, MANAGERS)
