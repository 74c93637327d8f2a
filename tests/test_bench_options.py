"""Every bench's number options refuse a negative, zero, absurd or non-numeric value with one
argparse ``error:`` line and exit 2 (issue 15 recheck: ``--deliveries=-1``, ``--entries=0`` and
``--messages=0`` ended in tracebacks; most others started hour-long runs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.glob("*_bench.py"))


def test_every_number_option_of_every_bench_is_checked() -> None:
    for script in SCRIPTS:
        source = script.read_text("utf-8")
        loose = re.findall(r'add_argument\("(--[a-z-]+)", type=(?:int|float)\b', source)
        assert loose in ([], ["--seed"]), f"{script.name}: {loose} are not checked"


@pytest.mark.parametrize("value", ["-1", "0", "99999999999", "abc"])
def test_a_wrong_number_is_one_line_and_exit_2(value: str) -> None:
    # faq_bench --entries=0 ended in a traceback; the others share bench_args.py (checked above)
    script = BENCH / "faq_bench.py"
    done = subprocess.run([sys.executable, str(script), f"--entries={value}"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, (value, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "faq_bench.py: error: argument --entries")
