"""A turn's time budget: the caller hears the first words within LLM_TURN_FIRST_AUDIO_S of the
prompt, whatever the models do.

The engine starts a `TurnClock` when the caller's words arrive. The LLM chain reads it to know how
long a model may take to start answering (`answer_by`) and whether a fallback may still start
(`spent`); the engine says a holding phrase (`hold`) when a slower path must complete, which
gives the model a fresh, bounded window (LLM_TURN_HOLD_S) while the phrase is being spoken.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

HOLDING_PHRASE = "One moment while I check that. "

# What the offline engine needs to answer once a model gave up at the deadline: the first words
# still reach the caller within the budget.
MARGIN_S = 0.1


class Clock:
    """Where a conversation reads the time: the wall clock for what it records, a monotonic one for
    what it measures. A port of the turn core (apps/agent/turn.py): the demo seeder runs
    conversations on a simulated clock."""

    def now(self) -> datetime:
        return timezone.now()

    def perf(self) -> float:
        return time.perf_counter()


@dataclass
class TurnClock:
    budget: float = field(default_factory=lambda: settings.LLM_TURN_FIRST_AUDIO_S)
    hold_window: float = field(default_factory=lambda: settings.LLM_TURN_HOLD_S)
    started: float = field(default_factory=time.perf_counter)
    spoke: bool = False  # the caller has heard something this turn
    held_at: float | None = None  # when the holding phrase went out

    @property
    def first_audio_by(self) -> float:
        return self.started + self.budget

    def answer_by(self) -> float:
        """When a model must have started answering (text or a tool call) to be waited for."""
        if self.held_at is not None:
            return self.held_at + self.hold_window
        return self.first_audio_by - MARGIN_S

    def spent(self) -> bool:
        """The first-audio budget is used up: no new model attempt (fallback) may start."""
        return time.perf_counter() >= self.first_audio_by - MARGIN_S

    def left(self) -> float:
        """Seconds until the first words are due (negative once past)."""
        return self.first_audio_by - time.perf_counter()

    def would_miss(self, seconds: float) -> bool:
        """Whether work expected to take `seconds` more would leave the caller silent past the budget."""
        return not self.spoke and time.perf_counter() + seconds > self.first_audio_by - MARGIN_S

    def hold(self) -> str:
        """The holding phrase is going out now: the model gets a fresh window from here."""
        self.spoke = True
        self.held_at = time.perf_counter()
        return HOLDING_PHRASE
