"""A word-list reading of how the caller sounds: the offline analyzer's (apps/analysis) and the live
monitor's "sentiment so far". Rough by design; the post-call analysis with a model replaces it."""

import re

_POSITIVE = re.compile(r"\b(thanks?|thank you|great|good|perfect|sure|okay|ok|sounds? (good|fair)|appreciate|happy)\b")
_NEGATIVE = re.compile(
    r"\b(no|not|can'?t|won'?t|angry|upset|ridiculous|unfair|stop|harass\w*|never|problem|difficult|worried|lost my job)\b"
)


def sentiment_score(text: str) -> float:
    """-1 (only negative words) to 1 (only positive ones); 0 with neither."""
    low = text.casefold()
    good, bad = len(_POSITIVE.findall(low)), len(_NEGATIVE.findall(low))
    return 0.0 if good + bad == 0 else round((good - bad) / (good + bad), 2)


def sentiment_label(score: float) -> str:
    return "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"
