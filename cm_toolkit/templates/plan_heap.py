"""Python's cyclic garbage collector during a whole-plan check: ``bulk_check`` and ``rendering``.

Loading 100,000 posts and planning them builds millions of objects that all live until the check
ends, and build almost no garbage (plain data, validated models, deliveries). The collector does
not know that: every few hundred allocations it scans the young objects, and each time the heap
has grown by a quarter it scans all of it: about 5 s of a 25 s check of 100,000 explicit posts,
in pauses of up to a second (long enough to make a render of a template miss its time limit on a
busy machine). So:

- ``bulk_check()`` turns the collector off for the whole check (loading, planning) and puts it
  back as it was at the end, with what was frozen unfrozen;
- ``rendering()``, once the plan is made, freezes what exists (those objects are never scanned
  again: they live until the end anyway, and are still freed by their reference counts) and turns
  the collector on: rendering templates builds cyclic garbage (Jinja's contexts and macros),
  which the young collections then find among few objects.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_open: list[bool] = []  # per ``bulk_check`` in progress: was the collector on before it?


@contextmanager
def bulk_check() -> Iterator[None]:
    """The collector off inside (and as it was before, afterwards)."""
    _open.append(gc.isenabled())
    gc.disable()
    try:
        yield
    finally:
        if _open.pop():
            gc.unfreeze()
            gc.enable()


def rendering() -> None:
    """Inside ``bulk_check`` (else nothing): what exists is kept from now on, and the garbage
    made after is collected (unless the collector was off before the check)."""
    if _open and _open[-1]:
        gc.freeze()
        gc.enable()
