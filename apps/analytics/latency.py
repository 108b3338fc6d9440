"""Turn latencies kept as histograms (apps/analytics/models.py LatencyDay), so a percentile of any
range is read from a few hundred rows instead of millions of turns, the same way on PostgreSQL and
SQLite. A value falls in the bucket of its lower bound: 5 ms wide below 100 ms, 50 ms below 1 s,
500 ms below 10 s, 5 s up to 60 s (and everything slower in the 60 s bucket). A percentile is the
lower bound of the bucket holding that rank (nearest rank), so it is exact to that width.
"""

import math
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Cast, Floor

# (below this, bucket width) in ms
WIDTHS = ((100, 5), (1_000, 50), (10_000, 500), (60_000, 5_000))
CEILING_MS = 60_000
# The measures of a turn kept (the TURN trace's payload, apps/agent/traces.py) and what they mean.
METRICS = {
    "overhead_ms": "Engine overhead",
    "llm_wait_ms": "Model time to first token",
    "first_token_ms": "Time to first audio",
    "total_ms": "Whole turn",
}


def bucket_of(value_ms: float) -> int:
    """The bucket (its lower bound, ms) of one value: what `bucket_expression` computes in SQL."""
    for below, width in WIDTHS:
        if value_ms < below:
            return int(max(value_ms, 0) // width * width)
    return CEILING_MS


def bucket_expression(value: str) -> Case:
    """`bucket_of` in the database, for the (float) annotation named `value`."""
    whens = [
        When(**{f"{value}__lt": below}, then=Cast(Floor(F(value) / width) * width, IntegerField()))
        for below, width in WIDTHS
    ]
    return Case(*whens, default=Value(CEILING_MS), output_field=IntegerField())


def percentile(buckets: Iterable[tuple[int, int]], fraction: float) -> Decimal | None:
    """The `fraction` percentile (0.5, 0.95) of a histogram [(bucket_ms, turns)], nearest rank;
    None when it is empty."""
    ordered = sorted(buckets)
    total = sum(turns for _, turns in ordered)
    if not total:
        return None
    rank = max(1, math.ceil(Decimal(total) * Decimal(str(fraction))))
    seen = 0
    for bucket, turns in ordered:
        seen += turns
        if seen >= rank:
            return Decimal(bucket)
    return Decimal(ordered[-1][0])
