"""When to try a failed send again.

Only errors an adapter marks ``retryable`` come here (rate limited, transient). The next attempt
is an exponential backoff with jitter, never before the network's reset instant, and never after
the delivery's grace window closes: then the delivery ``failed`` with the reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=30)
    jitter: float = 0.25  # +/- this fraction of the delay, so retries of many posts spread out
    rng: random.Random = field(default_factory=random.Random)

    def next_attempt(
        self,
        attempts: int,
        now: datetime,
        deadline: datetime,
        reset_at: datetime | None = None,
    ) -> datetime | None:
        """The instant of the next attempt, or None when it would fall after ``deadline``.

        ``attempts`` counts the attempts made so far (1 after the first failure).
        """
        delay = min(self.cap, self.base * (self.factor ** max(0, attempts - 1)))
        delay *= 1 + self.rng.uniform(-self.jitter, self.jitter)
        when = now + delay
        if reset_at is not None and reset_at > when:
            # a little after the reset, so that a crowd of retries doesn't hit it together
            when = reset_at + timedelta(seconds=self.rng.uniform(0, 2))
        return when if when <= deadline else None
