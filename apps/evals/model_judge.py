"""The optional LLM judge (`eval_agent --judge`): a model reads each conversation and scores it on
a rubric, with its rationale. Its scores are a column of their own in the report; they never
pass or fail a scenario (the rule checks do that)."""

import json
import os
from typing import Any

from pydantic import BaseModel, Field, ValidationError

RUBRIC = ("politeness", "one_question_per_turn", "no_reasked_data", "resolution_fits_goal")


class Scores(BaseModel):
    politeness: int = Field(ge=1, le=5)
    one_question_per_turn: int = Field(ge=1, le=5)
    no_reasked_data: int = Field(ge=1, le=5)
    resolution_fits_goal: int = Field(ge=1, le=5)
    rationale: str = Field(max_length=2000)


PROMPT = """You review a conversation between a company's virtual agent and a caller. Score the AGENT
from 1 (bad) to 5 (excellent) on each of:
- politeness: courteous, calm, never blaming or pressuring;
- one_question_per_turn: each turn asks at most one question;
- no_reasked_data: never asks for what the caller already gave or what is on file;
- resolution_fits_goal: how the call ended fits what the caller wanted ({goal}).
Answer with one JSON object only: {{"politeness": n, "one_question_per_turn": n, "no_reasked_data": n,
"resolution_fits_goal": n, "rationale": "one or two sentences"}}"""


def judge_client():
    """The judge's model: the configured endpoint's settings, passed to workers under their own names."""
    from openai import OpenAI

    return OpenAI(
        api_key=os.environ.get("EVAL_JUDGE_OPENAI_API_KEY", ""),
        base_url=os.environ.get("EVAL_JUDGE_OPENAI_BASE_URL") or None,
        timeout=60,
        max_retries=1,
    )


def judge_conversation(client, model: str, transcript: list[tuple[str, str]], goal: str) -> dict[str, Any]:
    text = "\n".join(f"{'AGENT' if who == 'agent' else 'CALLER'}: {said}" for who, said in transcript)
    try:
        response = client.chat.completions.create(
            model=model,
            messages=[{"role": "system", "content": PROMPT.format(goal=goal)}, {"role": "user", "content": text}],
            timeout=60,
        )
        content = (response.choices[0].message.content or "").strip()
        start, end = content.find("{"), content.rfind("}")
        return Scores.model_validate(json.loads(content[start : end + 1])).model_dump()
    except (ValidationError, ValueError) as exc:
        return {"error": f"the judge's answer was not a valid score: {str(exc)[:200]}"}
    except Exception as exc:  # the judge is optional: its failure is reported, the run goes on
        return {"error": f"the judge could not be reached: {type(exc).__name__}"}
