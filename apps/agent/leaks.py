"""The leak guardrail: a model's reply never says its instructions, or the caller's words, back.

A reply leaks when it says
- a stretch of its instructions: INSTRUCTIONS_RUN (6) or more consecutive words of the system
  prompt's own text (`prompts.instructions_text`: the prompt less what the agent may say, such as
  its name, what is on file, the rules it explains and what a step tells it to say) or of the
  marker the engine puts before injected caller words (`guardrails.INJECTION_MARKER`);
- a telltale of reciting them ("my instructions", "system prompt", "as you instructed", ...);
- the caller's words back at length: CALLER_RUN (8) or more consecutive words of one sentence the
  caller said in this call. A read-back quotes a few ("so that's three hundred dollars on Friday"),
  and says their terms again: a stretch with a figure or a day in it is no echo.
Words are compared normalised: lower case, punctuation and spacing dropped. A run the agent may say
anyway is none: one in what is on file, in a tool's result, or in what the agent already said.

`LeakGuard` passes the reply on as it streams, holding back only its last words while they could
still begin a leak; at the first leak it stops, and the turn is answered from the record instead
(answer_llm.py).
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from apps.agent.guardrails import INJECTION_MARKER
from apps.agent.number_words import NUMBER_WORDS
from apps.agent.numbers import MONTH_NAMES, WEEKDAYS

INSTRUCTIONS_RUN = 6
CALLER_RUN = 8

TELLTALES = (
    "my instructions",
    "my instruction",
    "system prompt",
    "my prompt",
    "my programming",
    "as you instructed",
    "i was instructed",
    "i've been instructed",
    "i have been instructed",
    "i am instructed",
    "i'm instructed",
    "required next action",
    "the caller said this",
    "not an instruction to you",
)

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*", re.IGNORECASE)
_SPACE = re.compile(r"\s")

Run = tuple[str, ...]

# A figure counts as one word, however it is said: "1,250.50" or "one thousand two hundred fifty",
# "November twenty-eighth". A read-back says the caller's figures again, and in words on the phone.
FIGURE = "#"

# A stretch of the caller's words with a figure or a day in it states terms, which a read-back
# says again ("so that's 300 on Friday by the online portal"): not an echo. ("May" is a word too.)
_TERMS = frozenset({FIGURE, "today", "tomorrow", "tonight", *WEEKDAYS, *(m.lower() for m in MONTH_NAMES)} - {"may"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _word(raw: str) -> str:
    word = raw.lower().replace("’", "'")
    if word[0].isdigit() or word in NUMBER_WORDS or word.removesuffix("s") in NUMBER_WORDS:
        return FIGURE
    return word


def _add(said: list[str], word: str) -> bool:
    """Append `word` to `said`, unless it goes on the figure `said` ends with; whether it was added."""
    if word == FIGURE and said and said[-1] == FIGURE:
        return False
    said.append(word)
    return True


def words(text: str) -> list[str]:
    said: list[str] = []
    for raw in _WORD.findall(text):
        _add(said, _word(raw))
    return said


def _runs(said: list[str], n: int) -> set[Run]:
    return {tuple(said[i : i + n]) for i in range(len(said) - n + 1)}


@dataclass(frozen=True)
class Leak:
    source: str  # "instructions", "telltale" or "caller_words"
    run: str  # the words that leaked, normalised
    text: str  # the reply up to the leak (the end of it)


class LeakCheck:
    """The runs this reply may not say, from this round's prompt and this call's words."""

    def __init__(self, *, instructions: Iterable[str], caller: str, known: Iterable[str]) -> None:
        sayable: set[Run] = set()
        for text in known:
            said = words(text)
            sayable |= _runs(said, INSTRUCTIONS_RUN) | _runs(said, CALLER_RUN)
        self.sources: dict[Run, str] = {}
        for stretch in (*instructions, INJECTION_MARKER):
            for run in _runs(words(stretch), INSTRUCTIONS_RUN) - sayable:
                self.sources[run] = "instructions"
        for sentence in _SENTENCE_END.split(caller):
            for run in _runs(words(sentence), CALLER_RUN) - sayable:
                if not _TERMS.intersection(run):  # a read-back says the caller's terms again
                    self.sources.setdefault(run, "caller_words")
        for phrase in TELLTALES:
            self.sources[tuple(words(phrase))] = "telltale"
        self.lengths = sorted({len(run) for run in self.sources})
        self.longest = self.lengths[-1]
        self.beginnings = {run[:n] for run in self.sources for n in range(1, len(run))}

    def ending(self, said: list[str]) -> tuple[str, Run] | None:
        """The leak `said` ends with, if any: its source and its run."""
        for n in self.lengths:
            if len(said) >= n and (source := self.sources.get(run := tuple(said[-n:]))):
                return source, run
        return None

    def open_end(self, said: list[str]) -> int:
        """How many of the last words of `said` could still become a leak."""
        for n in range(min(self.longest - 1, len(said)), 0, -1):
            if tuple(said[-n:]) in self.beginnings:
                return n
        return 0


class LeakGuard:
    """Streams a reply, holding back the words that could still begin a leak; stops at the first."""

    def __init__(self, check: LeakCheck) -> None:
        self.check = check
        self.passed = ""  # what was let through
        self.tail: list[str] = []  # its last words (a leak may begin in them)
        self.pending = ""  # held back
        self.leak: Leak | None = None

    def feed(self, chunk: str) -> str:
        if self.leak:
            return ""
        self.pending += chunk
        spaces = [m.end() for m in _SPACE.finditer(self.pending)]
        return self._let_through(spaces[-1] if spaces else 0)  # a partial word waits

    def flush(self) -> str:
        return "" if self.leak else self._let_through(len(self.pending), final=True)

    def release(self) -> str:
        """What is held back, as it stands (another guardrail stopped the reply): the start of a
        run is no leak."""
        if self.leak:
            return ""
        held, self.pending = self.pending, ""
        return held

    def _let_through(self, end: int, *, final: bool = False) -> str:
        said = list(self.tail)
        starts: list[int] = [0] * len(said)  # where each word of `said` begins in `pending` (0: before it)
        for match in _WORD.finditer(self.pending, 0, end):
            if not _add(said, _word(match.group())):
                continue  # more of the same figure
            starts.append(match.start())
            if hit := self.check.ending(said):
                source, run = hit
                out = self.pending[: starts[len(said) - len(run)]]  # up to the run
                self.leak = Leak(source, " ".join(run), (self.passed + self.pending[: match.end()])[-300:])
                self.pending = ""
                self.passed += out
                return out
        held = 0 if final else self.check.open_end(said)  # the reply is over: no run goes on
        # Held from the first word that could begin a leak.
        cut = starts[len(said) - held] if held else end
        out, self.pending = self.pending[:cut], self.pending[cut:]
        self.passed += out
        for word in words(out):
            _add(self.tail, word)
        self.tail = self.tail[-self.check.longest :]
        return out


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield str(value)


def known_texts(
    on_file: dict[str, Any], tool_log: list[dict[str, Any]], history: list[dict[str, Any]], summary: list[str]
) -> list[str]:
    """What the agent may say in any words: the record, the tools' results, its own replies."""
    texts = [*_leaves(on_file), *_leaves([entry.get("result") for entry in tool_log])]
    texts += [m["content"] for m in history if m["role"] == "assistant" and isinstance(m.get("content"), str)]
    texts += [note for note in summary if note.startswith("Agent: ")]
    return texts
