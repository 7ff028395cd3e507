"""Rule matching and reload speed for 10, 1,000 and 10,000 generated rules.

Part of `python -m bench`; on its own: .venv/bin/python -m bench.bench_rules [--write]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import readme
from bench.machine import describe
from responder.ruleset import MessageContext, Ruleset, RulesetHolder, load_ruleset

SIZES = (10, 1_000, 10_000)
RULES_PER_FILE = 250
MESSAGES = 20_000
TITLE = "Rule matching and reload"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "ba", "do", "fe", "gu"]
FILLER = ["please", "can", "you", "tell", "me", "about", "the", "for", "my", "today", "thanks"]


def word(i: int) -> str:
    """A made-up but pronounceable keyword, unique per i."""
    parts = []
    n = i + 1
    while n:
        n, r = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[r])
    return "".join(parts) + "x"


def kind_of(i: int) -> str:
    """The mix: mostly keyword rules, one regex rule in a hundred."""
    r = i % 100
    if r == 0:
        return "regex"
    return "only" if r < 40 else "first" if r < 65 else "word" if r < 88 else "phrase"


def write_rules(target: Path, count: int, *, anchored: bool = True) -> None:
    for start in range(0, count, RULES_PER_FILE):
        lines = ["timezone: Europe/London", "rules:"]
        if start == 0:
            # Every evaluation then checks the conversation's reply budget too.
            lines.insert(1, "budget: {replies: 20, per: 1h}")
        for i in range(start, min(count, start + RULES_PER_FILE)):
            kind = kind_of(i)
            lines.append(f"  - id: r{i}")
            lines.append(f"    match: {kind}")
            if kind == "regex":
                start_mark = "^" if anchored else "\\b"
                lines.append(f"    pattern: '{start_mark}{word(i)}\\s+(?P<code>\\d+)$'")
            elif kind == "phrase":
                lines.append(f'    keywords: ["{word(i)} {FILLER[i % len(FILLER)]}"]')
            else:
                lines.append(f"    keywords: [{word(i)}, {word(i)}s]")
            if i % 10 == 0:
                lines.append(f'    reply: "Rule {i} for {{{{ their_number }}}}."')
            else:
                lines.append(
                    f'    reply: "Answer number {i}: open 9-5, prices from £{i % 90 + 10}."'
                )
            if i % 50 == 7:
                lines.append('    when: {days: mon-fri, time: "09:00-17:00"}')
        if start == 0:
            lines += ["fallback:", '  reply: "Sorry, we did not understand."']
        (target / f"r{start // RULES_PER_FILE:04d}.yaml").write_text("\n".join(lines) + "\n")


def message_for(rng: random.Random, count: int) -> str:
    """A message that hits a random rule the way its kind expects, or nothing (one in ten)."""
    if rng.random() < 0.1:
        return " ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 5))) + " zzz"
    i = rng.randrange(count)
    kind = kind_of(i)
    filler = " ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 4)))
    if kind == "regex":
        return f"{word(i).upper()} {rng.randint(1, 99999)}"
    if kind == "only":
        return word(i).capitalize() + "?"
    if kind == "first":
        return f"{word(i)} {filler}"
    if kind == "phrase":
        return f"{filler} {word(i)} {FILLER[i % len(FILLER)]}"
    return f"{filler} {word(i)}s {filler}!"


def time_messages(ruleset: Ruleset, count: int, messages: int = MESSAGES) -> list[float]:
    rng = random.Random(count)
    texts = [message_for(rng, count) for _ in range(messages)]
    now = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)
    replied = [now - timedelta(minutes=m) for m in (3, 20, 45)]
    contexts = [
        MessageContext(t, "447443332211", "447443332212", now, recent_replies=replied)
        for t in texts
    ]
    for ctx in contexts[:1000]:
        ruleset.evaluate(ctx)
    timings = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for ctx in contexts:
            start = clock()
            ruleset.evaluate(ctx)
            timings.append((clock() - start) / 1000)
    finally:
        gc.enable()
    return timings


def measure(count: int, *, anchored: bool = True, messages: int = MESSAGES) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        write_rules(target, count, anchored=anchored)
        reloads, reload_cpu = [], []
        ruleset = None
        for _ in range(3):
            start, start_cpu = time.perf_counter(), time.process_time()
            ruleset = load_ruleset(target)
            reloads.append(time.perf_counter() - start)
            reload_cpu.append(time.process_time() - start_cpu)
        assert ruleset is not None
        assert len(ruleset.rules) == count
        timings = sorted(time_messages(ruleset, count, messages))
        holder = RulesetHolder(target, interval_s=0.0)
        before = holder.current().version
        edited = sorted(target.glob("*.yaml"))[-1]
        added = '  - {id: added, match: only, keywords: [zq], reply: "x"}\n'
        edited.write_text(edited.read_text().replace("rules:\n", "rules:\n" + added, 1))
        start, start_cpu = time.perf_counter(), time.process_time()
        after = holder.current().version
        hot = time.perf_counter() - start
        hot_cpu = time.process_time() - start_cpu
        assert after != before
    return {
        "label": f"{count:,}" if anchored else f"{count:,}, regex not anchored",
        "rules": count,
        "median_us": statistics.median(timings),
        "p99_us": timings[int(len(timings) * 0.99)],
        "reload_s": min(reloads),
        "reload_cpu_s": min(reload_cpu),
        "hot_s": hot,
        "hot_cpu_s": hot_cpu,
    }


def report(results: list[dict[str, float]], machine: str, messages: int = MESSAGES) -> str:
    base = results[0]["median_us"]
    rows = [
        f"| {r['label']} | {r['median_us']:.1f} | {r['p99_us']:.1f} | "
        f"{r['median_us'] / base:.2f}x | {r['reload_s'] * 1000:.0f} ms | "
        f"{r['reload_cpu_s'] * 1000:.0f} ms | {r['hot_s'] * 1000:.0f} ms | "
        f"{r['hot_cpu_s'] * 1000:.0f} ms |"
        for r in results
    ]
    return "\n".join(
        [
            machine,
            "",
            f"Generated rules, {RULES_PER_FILE} per file: 39% only, 25% first, 23% word, "
            "12% phrase, 1% regex; one rule in 50 has a schedule, one in 10 a template; a "
            "reply budget applies (each message's conversation has had 3 replies in the hour). "
            f"{messages:,} messages per size, each timed on its own: nine in ten hit a random "
            "rule, one in ten matches nothing and gets the fallback. *Load* is a cold "
            "`load_ruleset` (read, parse, lint, examples), best of three. *Hot reload* is "
            "`RulesetHolder.current()` after one file changed: unchanged files are not parsed "
            "again, lint runs on the whole set. Both are given as wall-clock time and as the "
            "CPU time of the process: on a busy shared machine the first includes waiting for a "
            "CPU, the second is the work itself.",
            "",
            "The generated regex rules start with `^word\\s`, which the index looks up by the "
            "message's first word. The last row starts them with `\\b` instead: then each of the "
            "100 costs a substring test for its literal word on every message that gets as far "
            "as its position, and a regex search where the word is present.",
            "",
            "| rules | median µs/message | p99 µs/message | median vs 10 rules "
            "| load | load, CPU | hot reload | hot reload, CPU |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Targets: at 10,000 rules a median of at most 20 µs and at most 2x the 10-rule "
            "median; reload of 10,000 rules within 1 s.",
            "",
        ]
    )


def run(messages: int = MESSAGES) -> str:
    """Measure every size and return the README section's text."""
    machine = describe()
    results = []
    for count, anchored in [*((size, True) for size in SIZES), (SIZES[-1], False)]:
        result = measure(count, anchored=anchored, messages=messages)
        results.append(result)
        print(
            f"  {result['label']:>6} rules: median {result['median_us']:.1f} µs, "
            f"p99 {result['p99_us']:.1f} µs, load {result['reload_s'] * 1000:.0f} ms "
            f"(CPU {result['reload_cpu_s'] * 1000:.0f} ms), "
            f"hot reload {result['hot_s'] * 1000:.0f} ms (CPU {result['hot_cpu_s'] * 1000:.0f} ms)",
            flush=True,
        )
    return report(results, machine, messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update bench/README.md")
    args = parser.parse_args()
    section = run()
    print()
    print(section)
    if args.write:
        readme.write_section(TITLE, section)


if __name__ == "__main__":
    main()
