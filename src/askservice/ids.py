"""Time-ordered, prefixed ids: an id is also a sort key.

`new_id("asst_")` gives `asst_` + 11 base32 characters of a microsecond clock, kept strictly
increasing within the process, + 13 random ones. Ids compare as strings in creation order across
workers (a microsecond clock) and within one request (the per-process monotonic bump).
"""

from __future__ import annotations

import secrets
import threading
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # ascending in ASCII, so string order is numeric order
TIME_CHARS = 11
RANDOM_CHARS = 13

_lock = threading.Lock()
_last_us = 0


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 32)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def _next_micros() -> int:
    global _last_us
    with _lock:
        now = time.time_ns() // 1000
        _last_us = now if now > _last_us else _last_us + 1
        return _last_us


def new_id(prefix: str) -> str:
    """Return a new id with `prefix` that sorts after every id this process made before."""
    return prefix + _encode(_next_micros(), TIME_CHARS) + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))


def is_valid(value: str, prefix: str) -> bool:
    """Tell whether `value` has the shape of an id made with `prefix`."""
    body = value[len(prefix):] if value.startswith(prefix) else None
    return body is not None and len(body) == TIME_CHARS + RANDOM_CHARS and all(c in ALPHABET for c in body)
