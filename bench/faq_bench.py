"""FAQ suggestions at scale: the time to rank one learner message against 500 FAQ entries.

    .venv/bin/python bench/faq_bench.py                    # 500 entries, 2,000 messages
    .venv/bin/python bench/faq_bench.py --entries 5000     # bigger FAQ
    .venv/bin/python bench/faq_bench.py --keep DIR         # keep the generated workspace

A workspace in a temporary folder gets the sample's schedules.yaml and a generated faq.yaml:
``--entries`` entries (default 500), each with 6 example questions (3 French, 3 English) and 4
keywords drawn from a vocabulary of 3,000 invented words (Zipf-like: some words are common to
many entries, most are rare), plus the sample's 10 synonym groups. Then:
- ``FaqBook.load`` (parse, validate, index) is timed once;
- ``--messages`` messages (default 2,000) are ranked with ``suggest(limit=3)``: half are
  paraphrases of an entry (its words shuffled, some dropped, learner words added), half mix random
  words; per-message p50, p95 and max (target: p95 under 5 ms), and how often a paraphrase's entry
  is first (a sanity check that the index works, not a quality figure: see
  tests/inbox/test_faq_suggest.py for that).
Exit status 0 when the target is met, else 1.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_args import positive_int

from cm_toolkit.inbox.faq import FaqBook

TARGET_P95_MS = 5.0
SYLLABLES = ("ba", "cor", "di", "fen", "gal", "hu", "ir", "jo", "ka", "lem", "mo", "nor", "pa",
             "qui", "ra", "sel", "tor", "u", "vin", "wa", "xe", "yo", "zu", "tion", "ment")
LEARNER_WORDS = ("bonjour", "merci", "svp", "comment", "est-ce que", "je", "voudrais", "savoir",
                 "hello", "please", "how", "can", "I", "the", "module", "vidéo", "cours", "?")


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def zipf_pick(rng: random.Random, words: list[str]) -> str:
    # Rank r is chosen with a probability about 1/r: a few words are everywhere, most are rare.
    return words[min(int(rng.paretovariate(1.0)) - 1, len(words) - 1) if rng.random() < 0.3
                 else rng.randrange(len(words))]


def generate(root: Path, entries: int, rng: random.Random) -> list[list[str]]:
    """Write faq.yaml with ``entries`` entries; returns each entry's words."""
    words = vocabulary(rng, 3000)
    lines = ["version: 1", "synonyms:"]
    sample = (REPO / "faq.yaml").read_text(encoding="utf-8")
    lines += [line for line in sample.splitlines() if line.startswith("  - [")]
    lines.append("entries:")
    topics = []
    for index in range(entries):
        topic = [zipf_pick(rng, words) for _ in range(8)]
        topics.append(topic)
        questions = [" ".join(rng.sample(topic, 5)) + " ?" for _ in range(6)]
        lines += [
            f"  - id: entry-{index}",
            f"    title: {{fr: \"Sujet {index}\", en: \"Topic {index}\"}}",
            "    questions:",
            "      fr: [" + ", ".join(f'"comment {q}"' for q in questions[:3]) + "]",
            "      en: [" + ", ".join(f'"how {q}"' for q in questions[3:]) + "]",
            "    keywords: [" + ", ".join(rng.sample(topic, 4)) + "]",
            f"    answer: {{fr: \"Réponse {index} : {{{{ course_url }}}}\", en: \"Answer {index}\"}}",
            "    auto: true",
        ]
    (root / "faq.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(REPO / "schedules.yaml", root / "schedules.yaml")
    return topics


def messages(rng: random.Random, topics: list[list[str]], count: int) -> list[tuple[int, str]]:
    """(entry index or -1, text): paraphrases of an entry, and random mixes."""
    words = [w for topic in topics for w in topic]
    found = []
    for n in range(count):
        if n % 2 == 0:
            index = rng.randrange(len(topics))
            kept = rng.sample(topics[index], rng.randint(2, 5))
            extra = rng.sample(LEARNER_WORDS, 3)
            parts = kept + extra
            rng.shuffle(parts)
            found.append((index, " ".join(parts)))
        else:
            found.append((-1, " ".join(rng.sample(words, rng.randint(3, 12)))))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=positive_int, default=500)
    parser.add_argument("--messages", type=positive_int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, default=None, help="write the workspace here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="cm-faq-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        topics = generate(root, args.entries, rng)
        started = time.perf_counter()
        book = FaqBook.load(root)
        load_s = time.perf_counter() - started
        sample = messages(rng, topics, args.messages)
        for _, text in sample[:50]:  # warm-up
            book.suggest(text)
        times, first = [], 0
        for expected, text in sample:
            started = time.perf_counter()
            suggestions = book.suggest(text, limit=3)
            times.append((time.perf_counter() - started) * 1000)
            if expected >= 0 and suggestions and suggestions[0].faq_id == f"entry-{expected}":
                first += 1
        times.sort()
        p50 = statistics.median(times)
        p95 = times[int(len(times) * 0.95) - 1]
        paraphrases = sum(1 for expected, _ in sample if expected >= 0)
        print(f"entries: {len(book.ids)}, load (parse, validate, index): {load_s * 1000:.0f} ms")
        print(f"suggest, {len(times)} messages: p50 {p50:.3f} ms, p95 {p95:.3f} ms, "
              f"max {times[-1]:.3f} ms (target p95 < {TARGET_P95_MS:.0f} ms)")
        print(f"paraphrases ranked first: {first}/{paraphrases}")
        ok = p95 < TARGET_P95_MS
        print("OK" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
