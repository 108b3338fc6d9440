"""Time of one redaction pass (apps.core.redaction.redact), typical and worst case.

Redaction runs on the event loop for every caller turn, every agent reply and every log line, so
one call must stay short whatever it is given: input past MAX_REDACT_CHARS is cut before any
pattern runs, and no pattern backtracks. Printed for each input: its size, the best, median and
worst wall-clock time of --repeat calls, the worst CPU time of the thread (on a busy machine the
wall-clock worst includes waiting for a core), and what was found. The target: any single call
under 20 ms, a typical caller turn well under 1 ms.

    python bench/redaction.py [--repeat 50]
"""

import argparse
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.core.redaction import MAX_REDACT_CHARS, redact  # noqa: E402
from bench import cpu_model  # noqa: E402

TURN = (
    "Yeah hi, it's Maria Lopez, account ACC0000042. I can pay 300 dollars on the 28th by card, the number "
    "is 4111 1111 1111 1111 and the cvv is 737. My zip is 94107 and you can call me at +1 415 555 0100."
)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh", "double", "triple")


def mixed(size: int, rng: random.Random) -> str:
    """Log-like text: words, amounts, dates, decimals, phone numbers, card numbers and long digit runs."""
    pieces = [
        lambda: "the caller said",
        lambda: f"${rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}",
        lambda: f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        lambda: f"took {rng.random()}s",
        lambda: f"+1 415 555 {rng.randint(0, 9999):04d}",
        lambda: "4111 1111 1111 1111",
        lambda: " ".join(str(rng.randint(0, 9)) for _ in range(rng.randint(5, 40))),
        lambda: " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))),
        lambda: "cvv 737, social security number 123-45-6789, routing 021000021",
    ]
    out: list[str] = []
    length = 0
    while length < size:
        piece = rng.choice(pieces)()
        out.append(piece)
        length += len(piece) + 1
    return " ".join(out)[:size]


def cases() -> list[tuple[str, str]]:
    rng = random.Random(7)
    near_cap = MAX_REDACT_CHARS - 1
    return [
        ("typical caller turn", TURN),
        ("agent reply, no digits", "Thanks, Maria. Would you like to pay the full balance today, or set up a plan?"),
        ("950 KB mixed text and digits", mixed(950_000, rng)),
        (f"mixed text at the cap ({near_cap:,} chars)", mixed(near_cap, rng)),
        ("950 KB of one digit run '1 1 1 ...'", "1 " * 475_000),
        ("digit run at the cap, no card '3 3 3 ...'", ("3 " * MAX_REDACT_CHARS)[:near_cap]),
        ("100k '1 1 1 ...' and a card", "1 " * 100_000 + "4111 1111 1111 1111"),
        ("digit words at the cap 'three three ...'", ("three " * MAX_REDACT_CHARS)[:near_cap]),
        ("mixed digit words at the cap", " ".join(rng.choice(WORDS) for _ in range(5000))[:near_cap]),
        ("one numeral at the cap '777...'", "7" * near_cap),
        ("dotted digits at the cap '3.3.3...'", ("3." * MAX_REDACT_CHARS)[:near_cap]),
        ("spaced dashes at the cap '3 - 3 - ...'", ("3 - " * MAX_REDACT_CHARS)[:near_cap]),
        ("cue words at the cap 'cvv cvv ... 1 2 3'", ("cvv is " * 2000 + "1 2 3 " * 3000)[:near_cap]),
        ("spaces at the cap '1     ...     x'", "1" + " " * (near_cap - 2) + "x"),
        ("950 KB without digits", "the quick brown fox jumps over the lazy dog " * 22_000),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {cpu_model()}; MAX_REDACT_CHARS = {MAX_REDACT_CHARS:,}")
    print(f"{'input':<44} {'chars':>9} {'best ms':>8} {'median ms':>10} {'worst ms':>9} {'worst cpu':>10}  found")
    worst_wall = worst_cpu = 0.0
    for name, text in cases():
        wall, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.thread_time()
            _, found = redact(text)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
        worst_wall, worst_cpu = max(worst_wall, max(wall)), max(worst_cpu, max(cpu))
        kinds = ", ".join(f"{kind} x{found.count(kind)}" for kind in dict.fromkeys(found)) or "-"
        print(
            f"{name:<44} {len(text):>9,} {min(wall):>8.3f} {statistics.median(wall):>10.3f} {max(wall):>9.3f}"
            f" {max(cpu):>10.3f}  {kinds}"
        )
    print(f"slowest single call: {worst_wall:.2f} ms wall clock, {worst_cpu:.2f} ms CPU (target: under 20 ms)")


if __name__ == "__main__":
    main()
