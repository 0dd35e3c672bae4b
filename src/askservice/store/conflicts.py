"""Retry a read-decide-write whose conditional write lost a race: the one loop, with a named budget per use.

Every rule that must hold across workers is a conditional write (`ConditionFailed` when another
writer got there first). The caller's `attempt` reads what it decides on afresh, decides, and
writes; when the write loses, it runs again after a short random pause, up to `budget` times.
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from askservice.store.base import ConditionFailed

T = TypeVar("T")
PAUSE_S = 0.002
"""The pause before try N is random in [0, PAUSE_S * N): racing writers spread out."""


def retry_on_conflict(attempt: Callable[[int], T], budget: int, exhausted: Callable[[], Exception]) -> T:
    """Return `attempt(n)` for the first try n (0-based) whose writes hold; raise `exhausted()` after `budget` tries."""
    for n in range(budget):
        if n:
            time.sleep(random.uniform(0, PAUSE_S * n))
        try:
            return attempt(n)
        except ConditionFailed:
            continue
    raise exhausted()
