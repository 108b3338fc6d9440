# The same customer, real transactions and fake LLM as the agent's tests.
from tests.agent.conftest import live_db, maria  # noqa: F401
