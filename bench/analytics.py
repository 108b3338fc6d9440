"""The managers' analytics at scale: the page and the CSV over a large history, on PostgreSQL.

Seeds its own database (`cc_bench_analytics_<calls>`, kept for the next run unless --fresh) in bulk
with SQL: customers, calls over two years (inbound and outbound, voice and web chat, two workflows
of two versions each; completed, handed off, abandoned, not reached), their transcripts, turn traces
(the latency split of two turns per answered call) and guardrail hits, analyses, promises (kept,
partly kept, broken, open), payments, follow-ups and compliance blocks. Then builds
the daily rollups from them (`analytics_rebuild`, timed) and measures through Django's whole
request stack (middleware, sign-in session, view, queries, template) the analytics page for the
last 30 and 365 days and the CSV for 365 days, printing p50/p95 and the data set's size on disk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/analytics.py [--calls 1000000] [--requests 40]

Targets (issue 17), on the 2-core machine: page p95 <= 200 ms at 1M calls; at 10M calls at most
1.5x the 1M figure; the year's CSV <= 1 s.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu_model, percentile  # noqa: E402

HISTORY_DAYS = 730
TRANSCRIPT_LINES = 4  # per answered call
TURNS = 2  # turn traces (the latency split) per answered call; a guardrail hit on one call in 20

SEED = """
SELECT setseed(0.17);
INSERT INTO customers_customer (created_at, updated_at, name, phone, email, timezone, language, account_number,
    balance, currency, days_overdue, risk_category, collection_stage, profile, consent_automated_calls,
    consent_source, do_not_call, consent_sms)
SELECT now(), now(), 'Customer ' || n, '+1' || (2000000000 + n)::text, '', 'America/New_York', 'en',
    'BENCH' || lpad(n::text, 9, '0'), round((random() * 4000)::numeric, 2), 'USD', (random() * 120)::int,
    (ARRAY['low', 'medium', 'high'])[1 + floor(random() * 3)::int],
    (ARRAY['current', 'early', 'middle', 'late'])[1 + floor(random() * 4)::int], '{{}}', false, '', false, false
FROM generate_series(1, {customers}) AS n;

CREATE TEMP TABLE seed_calls AS
SELECT n, 1 + floor(random() * {customers})::int AS customer_id,
    now() - (random() * {days} || ' days')::interval AS started_at,
    random() AS r_outcome, random() AS r_kind, random() AS r_flow
FROM generate_series(1, {calls}) AS n;

INSERT INTO calls_call (created_at, updated_at, twilio_call_sid, customer_id, channel, direction, status, from_number,
    to_number, reason, started_at, ended_at, duration_seconds, answered_by, workflow_name, workflow_version,
    current_step, state, handoff_reason, error, relay_failures, relay_failed_session, prompt_tokens,
    completion_tokens, cost_usd, is_test)
SELECT started_at, started_at, 'CA' || lpad(to_hex(n), 32, '0'), customer_id,
    CASE WHEN r_kind < 0.15 THEN 'web_chat' ELSE 'voice' END,
    CASE WHEN r_kind < 0.55 THEN 'inbound' ELSE 'outbound' END,
    CASE WHEN r_outcome < 0.10 THEN 'no-answer' WHEN r_outcome < 0.13 THEN 'busy' ELSE 'completed' END,
    '+12025550100', '+14155550100', '', started_at, started_at + ((30 + r_flow * 400) || ' seconds')::interval,
    CASE WHEN r_outcome < 0.13 THEN 0 ELSE (30 + r_flow * 400)::int END, '',
    CASE WHEN r_flow < 0.7 THEN 'collections' ELSE 'roadside' END,
    CASE WHEN r_flow < 0.35 OR (r_flow >= 0.7 AND r_flow < 0.85) THEN 'v1' ELSE 'v2' END,
    'done', CASE WHEN r_outcome >= 0.13 AND r_outcome < 0.85 THEN '{{"ended": true}}'::jsonb ELSE '{{}}'::jsonb END,
    CASE WHEN r_outcome >= 0.73 AND r_outcome < 0.85
        THEN (ARRAY['the caller asked for a person', 'identity could not be verified', 'repeated misunderstanding'])
            [1 + floor(r_flow * 3)::int]
        ELSE '' END,
    '', 0, '', (800 + r_flow * 4000)::int, (100 + r_flow * 600)::int, round((0.002 + r_flow * 0.02)::numeric, 6),
    r_kind > 0.995
FROM seed_calls ORDER BY started_at;

INSERT INTO calls_transcriptentry (call_id, sequence, speaker, text, spoken_at, interrupted, redacted)
SELECT c.id, s, CASE WHEN s % 2 = 0 THEN 'agent' ELSE 'customer' END,
    CASE WHEN s % 2 = 0 THEN 'How can I help you today?' ELSE 'I would like to set up a payment plan, please.' END,
    c.started_at + (s * 8 || ' seconds')::interval, false, false
FROM calls_call c, generate_series(0, {lines} - 1) AS s WHERE c.status = 'completed';

INSERT INTO calls_traceevent (call_id, turn, kind, name, ok, payload, latency_ms, prompt_tokens, completion_tokens,
    cost_usd, at)
SELECT x.id, x.t, 'turn', 'turn ' || x.t, true,
    jsonb_build_object('mode', CASE WHEN x.r < 0.02 THEN 'offline' WHEN x.r < 0.12 THEN 'rule' ELSE 'llm' END,
        'held', x.r > 0.97, 'fallback', x.r > 0.95 AND x.r <= 0.97, 'overhead_ms', round((2 + x.r * 30)::numeric, 3),
        'llm_wait_ms', round((300 + x.r * 1500)::numeric, 3), 'first_token_ms', round((320 + x.r * 1600)::numeric, 3),
        'total_ms', round((900 + x.r * 3000)::numeric, 3), 'tools_ms', 0, 'llm_rounds', 1),
    900 + x.r * 3000, 0, 0, 0, x.started_at + (x.t * 15 || ' seconds')::interval
FROM (SELECT c.id, c.started_at, t, random() AS r
      FROM calls_call c CROSS JOIN generate_series(1, {turns}) AS t WHERE c.status = 'completed') AS x;

INSERT INTO calls_traceevent (call_id, turn, kind, name, ok, payload, latency_ms, prompt_tokens, completion_tokens,
    cost_usd, at)
SELECT c.id, 1, 'guardrail', (ARRAY['redaction', 'holding_phrase', 'ungrounded_figure', 'prompt_injection'])
    [1 + floor(random() * 4)::int], false, '{{}}', NULL, 0, 0, 0, c.started_at
FROM calls_call c WHERE c.status = 'completed' AND c.id % 20 = 0;

INSERT INTO analysis_callanalysis (created_at, updated_at, call_id, status, meaningful_reason, analyzer, sentiment,
    sentiment_trajectory, intent, summary, promise, next_action, field_confidence, rule_overrides, confidence,
    needs_review, review_fields, error)
SELECT c.started_at, c.started_at, c.id, CASE WHEN random() < 0.15 THEN 'not_meaningful' ELSE 'completed' END, '',
    'offline', (ARRAY['positive', 'neutral', 'negative', 'mixed'])[1 + floor(random() * 4)::int], '[]', 'promise_to_pay',
    '', '{{}}', '{{}}', '{{}}', '[]', 80, false, '[]', ''
FROM calls_call c WHERE c.status = 'completed';

INSERT INTO promises_promise (created_at, updated_at, customer_id, call_id, amount, currency, due_date, method, status,
    amount_paid, confidence, source, status_changed_at, status_reason)
SELECT c.started_at + interval '1 minute', c.started_at + interval '1 minute', c.customer_id, c.id, p.amount, 'USD',
    (c.started_at + interval '7 days')::date, 'card',
    CASE WHEN p.r < 0.45 THEN 'kept' WHEN p.r < 0.60 THEN 'partially_kept' WHEN p.r < 0.85 THEN 'broken' ELSE 'pending' END,
    CASE WHEN p.r < 0.45 THEN p.amount WHEN p.r < 0.60 THEN round(p.amount / 2, 2) ELSE 0 END, 85, 'agent', NULL, ''
FROM calls_call c
CROSS JOIN LATERAL (SELECT round((50 + random() * 950)::numeric, 2) AS amount, random() AS r) AS p
WHERE c.workflow_name = 'collections' AND c.state = '{{"ended": true}}'::jsonb AND c.handoff_reason = ''
    AND c.id % 3 = 0;

INSERT INTO promises_payment (customer_id, promise_id, amount, currency, reference, method, received_at, created_at)
SELECT p.customer_id, p.id, p.amount_paid, 'USD', 'BENCH-' || p.id, 'card', p.created_at + interval '6 days',
    p.created_at + interval '6 days'
FROM promises_promise p WHERE p.amount_paid > 0;

INSERT INTO outreach_followup (created_at, updated_at, customer_id, promise_id, source_call_id, reason, due_at, status,
    block_reason, attempts, max_attempts, last_attempt_at, last_error, requested_by_customer, business_override,
    override_reason)
SELECT p.created_at, p.created_at, p.customer_id, p.id, p.call_id, 'Promise to pay is due', p.created_at + interval '8 days',
    CASE WHEN p.status = 'kept' THEN 'cancelled' WHEN p.status = 'broken' THEN 'done' ELSE 'scheduled' END, '', 0, 3,
    NULL, '', false, false, ''
FROM promises_promise p;

INSERT INTO core_auditevent (at, actor_id, actor_label, action, object_type, object_id, object_repr, details)
SELECT f.due_at, NULL, 'system', 'followup.blocked', 'outreach.followup', f.id::text, 'Follow-up ' || f.id,
    jsonb_build_object('rule', (ARRAY['calling_window', 'do_not_call', 'consent', 'seven_in_seven',
        'one_at_a_time'])[1 + floor(random() * 5)::int], 'reason', 'held back')
FROM outreach_followup f WHERE f.id % 4 = 0;
ANALYZE;
"""


def database_url(calls: int, fresh: bool) -> tuple[str, bool]:
    """The bench's own database; whether it must be seeded."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/analytics.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(url)
    name = f"cc_bench_analytics_{calls}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and fresh:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if not exists or fresh:
            conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(parts._replace(path=f"/{name}")), not exists or fresh


def timed(label: str, work) -> float:
    began = time.perf_counter()
    work()
    took = time.perf_counter() - began
    print(f"{label}: {took:.1f} s", flush=True)
    return took


def measure(client, url: str, requests: int, stream: bool = False) -> tuple[float, float]:
    samples = []
    for n in range(requests + 2):
        began = time.perf_counter()
        response = client.get(url)
        size = sum(len(chunk) for chunk in response.streaming_content) if stream else len(response.content)
        took = (time.perf_counter() - began) * 1000
        if response.status_code != 200 or not size:
            sys.exit(f"{url} answered {response.status_code} with {size} bytes")
        if n >= 2:  # two warm-up requests
            samples.append(took)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="requests per measured page")
    parser.add_argument("--fresh", action="store_true", help="seed again even if the database exists")
    args = parser.parse_args()

    url, seed = database_url(args.calls, args.fresh)
    # The embedded defaults for what is not measured; DEBUG is switched off for the requests below.
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="contactcenter.settings", DJANGO_DEBUG="true")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from apps.accounts.roles import MANAGERS
    from apps.accounts.services import user_set_role
    from apps.analytics.params import business_today
    from apps.calls.models import Call

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL")
    if seed:
        timed("migrate", lambda: call_command("migrate", verbosity=0))
        sql = SEED.format(
            customers=max(1, args.calls // 20), calls=args.calls, days=HISTORY_DAYS, lines=TRANSCRIPT_LINES, turns=TURNS
        )
        with connection.cursor() as cursor:
            timed(f"seed {args.calls:,} calls", lambda: cursor.execute(sql))
        timed("analytics_rebuild (all days)", lambda: call_command("analytics_rebuild", verbosity=0))
        with connection.cursor() as cursor:  # what autovacuum does to a database in use: steady state
            timed("vacuum analyze", lambda: cursor.execute("VACUUM ANALYZE"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
        counts = {}
        for table in (
            "calls_call",
            "calls_transcriptentry",
            "calls_traceevent",
            "promises_promise",
            "analytics_callday",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own table names)
            counts[table] = cursor.fetchone()[0]
    print(
        f"data: {Call.objects.count():,} calls, "
        + ", ".join(f"{t} {n:,}" for t, n in counts.items())
        + f"; {size} on disk"
    )

    setup_test_environment(debug=False)
    from django.contrib.auth import get_user_model

    manager, _ = get_user_model().objects.get_or_create(username="bench-manager")
    user_set_role(user=manager, role=MANAGERS)
    client = Client()
    client.force_login(manager)
    today = business_today()
    for days in (30, 365):
        start = today.fromordinal(today.toordinal() - days + 1)
        p50, p95 = measure(client, f"/analytics/?from={start}&to={today}", args.requests)
        print(f"page, {days} days: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    start = today.fromordinal(today.toordinal() - 364)
    p50, p95 = measure(
        client, f"/analytics/export.csv?from={start}&to={today}", max(5, args.requests // 4), stream=True
    )
    print(f"CSV, 365 days: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
