"""X thread splitting (``channels/x/text.py: split_thread``) on long texts: one word, and prose.

    .venv/bin/python bench/thread_bench.py                   # 10k, 20k, 40k, 250k characters
    .venv/bin/python bench/thread_bench.py --sizes 1000 5000

``split_thread`` runs in ``cm check`` and ``cm preview`` (a ``thread: true`` post) and again at
send time, in the publisher. Two texts per size: one word without a space (the worst case: it is
cut between characters) and French-like prose (words, sentences, a link and an emoji now and
then, a paragraph break every few sentences), generated from a fixed seed. Each split runs in
this process; wall time and CPU time (``time.process_time``) are measured around it. Every
result is checked: each part within 280 weighted characters, numbered, and the parts give the
text back. Exit status 1 when a split breaks a rule or takes longer than the target
(``--target``, 2 s per 10,000 characters: linear).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from cm_toolkit.channels.x.text import TEXT_MAX as X_TEXT_MAX
from cm_toolkit.channels.x.text import split_thread, x_weighted_length

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_args import positive_int, positive_seconds

WORDS = ("le", "leader", "équipe", "confiance", "management", "à", "distance", "feedback",
         "apprenants", "semaine", "module", "collaboratif", "vous", "nous", "réussite", "63")
EXTRAS = ("https://mooc-leader20.fr/forum", "🎉", "中文", "#MOOC")


def one_word(size: int) -> str:
    return "a" * size


def prose(size: int, seed: int = 2027) -> str:
    pick = random.Random(seed)
    pieces: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(
            pick.choice(EXTRAS) if pick.random() < 0.05 else pick.choice(WORDS)
            for _ in range(pick.randint(6, 18))
        ).capitalize() + pick.choice(".!?")
        separator = "\n\n" if pick.random() < 0.2 else " "
        pieces.append(sentence + separator)
        length += len(sentence) + len(separator)
    return "".join(pieces)[:size].strip()


def check(text: str, parts: list[str]) -> str | None:
    """What is wrong with a split (None when nothing is)."""
    if any(x_weighted_length(part) > X_TEXT_MAX for part in parts):
        return "a part is over 280"
    bodies = [part.rsplit(" ", 1)[0] for part in parts] if len(parts) > 1 else parts
    if " ".join(bodies).split() != text.split() and "".join(bodies) != text:
        return "the parts do not give the text back"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[10_000, 20_000, 40_000, 250_000])
    parser.add_argument("--target", type=positive_seconds, default=2.0,
                        help="seconds allowed per 10,000 characters")
    args = parser.parse_args(argv)
    failed = False
    print(f"{'text':<10} {'characters':>10} {'parts':>6} {'wall s':>7} {'CPU s':>7} "
          f"{'µs/char':>8}  result")
    for size in args.sizes:
        for kind, make in (("one word", one_word), ("prose", prose)):
            text = make(size)
            started, cpu_started = time.perf_counter(), time.process_time()
            parts = split_thread(text)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            problem = check(text, parts)
            slow = wall > args.target * size / 10_000
            failed = failed or problem is not None or slow
            verdict = problem or ("over target" if slow else "ok")
            print(f"{kind:<10} {len(text):>10,} {len(parts):>6} {wall:>7.2f} {cpu:>7.2f} "
                  f"{cpu / len(text) * 1e6:>8.1f}  {verdict}")
    print(f"target: {args.target} s per 10,000 characters: {'NOT met' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
