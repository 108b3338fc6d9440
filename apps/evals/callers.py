"""Simulated callers: what the caller says next, given what the agent just said.

- `ScriptedCaller` says its script's turns in order, whatever the agent says.
- `RulesCaller` pursues a goal deterministically: it recognises the kind of question the agent
  asked (who is this, verify, how much and when, is that right, where are you, anything else) and
  answers it from what it knows, in the wording of its temper; it hangs up after its turn limit.
- `ModelCaller` (`--caller llm`) has the configured model play the caller, from a persona.

A caller's turn is a `Say` (text; `dtmf` for keypad digits; `interrupt` when it talks over the
agent) or `HangUp`. Script lines may be directives: "dtmf: 0042#", "interrupt: <words>",
"hang up".
"""

import re
from dataclasses import dataclass
from datetime import date

from apps.evals.scenarios import CallerSpec, Scenario, resolve_day


@dataclass(frozen=True)
class Say:
    text: str
    dtmf: bool = False
    interrupt: bool = False


@dataclass(frozen=True)
class HangUp:
    why: str = "the caller hung up"


Turn = Say | HangUp


def parse_line(line: str) -> Turn:
    text = line.strip()
    low = text.lower()
    if low in ("hang up", "hangup", "[hang up]"):
        return HangUp()
    if low.startswith("dtmf:"):
        return Say(text[5:].strip(), dtmf=True)
    if low.startswith("interrupt:"):
        return Say(text[10:].strip(), interrupt=True)
    return Say(text)


class ScriptedCaller:
    def __init__(self, spec: CallerSpec) -> None:
        self.lines = list(spec.script)

    def next(self, agent_said: str) -> Turn:
        return parse_line(self.lines.pop(0)) if self.lines else HangUp("the script ended")


# --- the rules caller ------------------------------------------------------------------------

ASKS = (  # (kind, pattern), first match wins: the agent's last question decides
    ("party", r"am i speaking with|is this \w+|speaking with|are you \w+ \w+\?"),
    ("verify", r"verify|zip|last four|date of birth|doesn't match"),
    ("identify", r"full name|account number|find your account|couldn't find"),
    ("read_back", r"is that right|is that correct|did i get that right|correct\?|right\?$"),
    ("vehicle", r"vehicle|still driving|are you in the|your car|the \d{4} "),
    ("location", r"where are you|your location|where is the vehicle|where exactly|address|cross street|which exit"),
    ("problem", r"what happened|what's wrong|what seems|what is the problem|what's going on|the problem"),
    ("anything_else", r"anything else|something else|else i can help"),
    ("terms", r"pay|plan|amount|how much|what date|which date|when can you|settle"),
)


def asked(agent_said: str) -> str:
    """The kind of question in the agent's last words (its last sentence first)."""
    low = agent_said.lower().strip()
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", low) if s]
    for sentence in [*(sentences[-1:] if sentences else []), low]:
        for kind, pattern in ASKS:
            if re.search(pattern, sentence):
                return kind
    return "other"


WORDING = {  # temper -> phrasing of the answers that vary
    "calm": {
        "yes": "Yes, that's right.",
        "bye": "No, that's all, thank you. Goodbye.",
        "pay": "I can pay {amount} on {date}.",
    },
    "brief": {"yes": "Yes.", "bye": "No. Bye.", "pay": "{amount}, {date}."},
    "chatty": {
        "yes": "Yes, yes, that's exactly right, thank you so much.",
        "bye": "No, that's everything for today, you've been very helpful. Bye now!",
        "pay": "Well, things have been tight, but I think I can manage {amount} on {date}.",
    },
    "corrects": {"yes": "Yes, that's right.", "bye": "No, that's all. Bye.", "pay": "I can pay {amount} on {date}."},
    "confused": {
        "yes": "Um, yes. Yes, that's right.",
        "bye": "No... no, that's all. Goodbye.",
        "pay": "Maybe {amount}? On {date}.",
    },
}


class RulesCaller:
    def __init__(self, scenario: Scenario, today: date, account_number: str = "") -> None:
        self.spec = scenario.caller
        self.scenario = scenario
        self.knows = {"account": account_number, **scenario.caller.knows}
        self.today = today
        self.words = WORDING[self.spec.temper]
        self.turns = 0
        self.counts: dict[str, int] = {}
        self.corrected = False

    def _said(self, kind: str) -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.counts[kind]

    def next(self, agent_said: str) -> Turn:
        self.turns += 1
        if self.turns > self.spec.hangs_up_after:
            return HangUp(f"the caller hung up after {self.spec.hangs_up_after} turns")
        kind = asked(agent_said)
        times = self._said(kind)
        if times > 3:
            return HangUp(f"the agent asked the same kind of question ({kind}) a fourth time")
        goal = self.spec.goal
        if goal == "leave":
            return Say(self.words["bye"])
        answer = getattr(self, f"_{kind}")(times)
        return answer if isinstance(answer, HangUp) else Say(answer)

    # --- answers by kind of question ---------------------------------------------------------

    def _party(self, times: int) -> str:
        if self.spec.goal == "wrong_party":
            return self.knows.get("who", "No, this is his roommate. He's not home.")
        return self.knows.get("party", "Yes, speaking." if times == 1 else "Yes, this is me.")

    def _identify(self, times: int) -> str:
        c = self.scenario.customer
        return self.knows.get(
            "identify", f"My name is {c.name} and my account number is {self.knows.get('account', '')}"
        )

    def _verify(self, times: int) -> str:
        c = self.scenario.customer
        if times == 1 and "wrong_zip" in self.knows:
            return f"My zip code is {self.knows['wrong_zip']}"
        if "verify" in self.knows:
            return self.knows["verify"]
        return f"My zip code is {c.zip}" if times == 1 else f"The last four digits are {c.account_last4}"

    def _terms(self, times: int) -> str | HangUp:
        goal, knows = self.spec.goal, self.knows
        if goal == "promise":
            if knows.get("amount") == "full":
                return f"I can pay it in full on {knows.get('date', 'Friday')}."
            text = self.words["pay"].format(amount=knows.get("amount", "300 dollars"), date=knows.get("date", "Friday"))
            if method := knows.get("method"):
                text = f"{text.rstrip('.')} by {method}."
            return text
        if goal == "balance":
            return "How much do I owe exactly?" if times == 1 else self.words["bye"]
        if goal == "fee_waiver":
            return knows.get("ask", "Can you waive the late fee?") if times == 1 else self.words["bye"]
        if goal == "settlement":
            if times == 1:
                return f"Could I settle the whole thing for {knows.get('amount', '500 dollars')}?"
            return f"On {knows.get('date', 'Friday')}." if times == 2 else self.words["bye"]
        if goal == "callback":
            return f"Can you call me back {knows.get('date', 'tomorrow')}? I'm busy right now."
        if goal == "person":
            return knows.get("ask", "I want to talk to a real person, please.")
        if goal == "refuse":
            return "I can't pay anything right now." if times == 1 else "No, I'm not agreeing to anything. Goodbye."
        return self._other(times)

    def _read_back(self, times: int) -> str:
        if self.spec.temper == "corrects" and not self.corrected and "corrected_amount" in self.knows:
            self.corrected = True
            return f"Actually, make it {self.knows['corrected_amount']}."
        if "location" in self.knows and self.spec.goal == "dispatch" and self.knows.get("relocate") and times == 1:
            return f"No, I'm actually {self.knows['relocate']}"
        return self.words["yes"]

    def _vehicle(self, times: int) -> str:
        return self.knows.get("vehicle_answer", "Yes, that's the one.")

    def _location(self, times: int) -> str:
        return self.knows.get("location", "I'm on I-880 near the Coliseum exit in Oakland.")

    def _problem(self, times: int) -> str:
        return self.knows.get("problem", "My battery is dead.")

    def _anything_else(self, times: int) -> str:
        return self.words["bye"]

    def _other(self, times: int) -> str:
        goal = self.spec.goal
        opening = {
            "dispatch": f"{self.knows.get('problem', 'My car broke down.')} {self.knows.get('location', '')}".strip(),
            "person": self.knows.get("ask", "Can I talk to a person?"),
            "balance": "How much do I owe?",
        }
        if times >= 3:
            return self.words["bye"]
        return opening.get(goal or "", "Sorry, could you say that again?")


# --- the model caller ------------------------------------------------------------------------


class ModelCaller:
    """The configured model plays the caller from the scenario's persona, goal and facts."""

    def __init__(self, scenario: Scenario, today: date, client, model: str) -> None:
        self.client, self.model = client, model
        self.turns = 0
        self.limit = scenario.caller.hangs_up_after
        facts = "; ".join(f"{k}: {v}" for k, v in scenario.caller.knows.items())
        c = scenario.customer
        self.system = (
            "You play a caller on a phone call with a company's virtual assistant. Stay in character, answer "
            "only what is asked, one or two short sentences, never narrate. When your goal is reached or you "
            "want to end the call, say goodbye. Reply with HANGUP alone to hang up.\n"
            f"Who you are: {scenario.caller.persona or c.name}. Your name: {c.name}. ZIP code: {c.zip}. "
            f"Account number ends in {c.account_last4}.\n"
            f"Your goal: {scenario.caller.goal or 'follow the conversation'}. What you know: {facts or 'nothing more'}.\n"
            f"Today is {today:%A, %B %d, %Y}."
        )
        self.history: list[dict[str, str]] = []

    def next(self, agent_said: str) -> Turn:
        self.turns += 1
        if self.turns > self.limit:
            return HangUp(f"the caller hung up after {self.limit} turns")
        self.history.append({"role": "user", "content": agent_said})
        response = self.client.chat.completions.create(
            model=self.model, messages=[{"role": "system", "content": self.system}, *self.history], timeout=30
        )
        text = (response.choices[0].message.content or "").strip()
        self.history.append({"role": "assistant", "content": text})
        return HangUp("the simulated caller hung up") if not text or text.upper().startswith("HANGUP") else Say(text)


def date_words(expression: str, today: date) -> str:
    """How a caller says a scenario's date: 'Friday, December 11'."""
    day = resolve_day(expression, today)
    return f"{day:%A}, {day:%B} {day.day}"
