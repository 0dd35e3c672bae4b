"""Parse untrusted JSON: the one decoder of the web layer, every hostile shape a 400 `invalid_json`.

Refused, each with a message naming the problem: bytes that are not UTF-8, nesting deeper than
`MAX_DEPTH`, integers outside 64 bits, numbers that overflow a float, `NaN`/`Infinity`, a lone
UTF-16 surrogate escape (it could not be stored or sent on), and a key repeated in one object
(which of the values wins differs between parsers). The checks that need a walk over the parsed
value run only when a byte-level scan says the body may need them, so ordinary bodies pay for
the C decoder and one hook call per object.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from askservice.errors import InvalidRequestError

MAX_DEPTH = 64
INT_BOUND = 2**63  # integers must fit a signed 64-bit field: [-2**63, 2**63)
_BIG_NUMBER = re.compile(rb"\d{19}|[eE][+-]?\d{3}")  # an integer that may pass 64 bits, an exponent that may overflow
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class _Hostile(ValueError):
    """Raised inside the decoder's hooks; carries the message the client sees."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Hostile(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise _Hostile(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant)


def invalid_json(problem: str) -> InvalidRequestError:
    """Return the 400 for a body that is not acceptable JSON, naming `problem`."""
    return InvalidRequestError(f"We could not parse the JSON body of your request: {problem}.", code="invalid_json")


def loads(raw: bytes) -> Any:
    """Decode `raw` (UTF-8 JSON, an optional BOM) or raise `invalid_json` naming what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_json(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = _DECODER.decode(text.removeprefix("\ufeff"))
    except RecursionError:
        raise invalid_json(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _Hostile as exc:
        raise invalid_json(str(exc)) from None
    except ValueError:  # the interpreter's limit on digits in one integer
        raise invalid_json("a number is too large") from None
    _check(value, raw)
    return value


def _check(value: Any, raw: bytes) -> None:
    """Walk `value` for depth, number ranges and surrogates, where the raw bytes say it may matter."""
    deep = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    numbers = _BIG_NUMBER.search(raw) is not None
    strings = _SURROGATE.search(raw) is not None
    if not (deep or numbers or strings):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise invalid_json(f"it is nested deeper than {MAX_DEPTH} levels")
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if strings and isinstance(key, str):
                    _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not -INT_BOUND <= node < INT_BOUND:
                raise invalid_json("an integer is outside the 64-bit range")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise invalid_json("a number is too large")
        elif strings and isinstance(node, str):
            _check_string(node)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_json("a string holds a lone UTF-16 surrogate escape") from None
