"""Parse untrusted JSON: the one decoder of the web layer, every hostile shape a 400 `invalid_json`.

Refused, each with a message naming the problem: bytes that are not UTF-8, nesting deeper than
`MAX_DEPTH`, integers outside 64 bits, numbers outside what the store keeps (`FLOAT_RANGE`),
`NaN`/`Infinity`, a lone UTF-16 surrogate escape (it could not be stored or sent on), and a key
repeated in one object
(which of the values wins differs between parsers). Numbers are checked as they are decoded;
the walks over the parsed value (depth, surrogates) run only when a byte-level count or scan
says the body may need them, so ordinary bodies pay for the C decoder and one hook call per
object (and per number).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from askservice.errors import InvalidRequestError

MAX_DEPTH = 32  # what the store keeps: an item's attribute values nest at most 31 deep (DynamoDB's limit)
INT_BOUND = 2**63  # integers must fit a signed 64-bit field: [-2**63, 2**63)
FLOAT_RANGE = (1e-130, 1e38)  # the magnitudes of non-zero numbers the store keeps (DynamoDB's, less a margin)
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_CONTAINERS = (dict, list)


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


def _int(text: str) -> int:
    if len(text) > 20 or not -INT_BOUND <= (value := int(text)) < INT_BOUND:
        raise _Hostile("an integer is outside the 64-bit range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) >= FLOAT_RANGE[1]:
        raise _Hostile(f"a number is too large (the limit is {FLOAT_RANGE[1]:g})")
    if value and abs(value) < FLOAT_RANGE[0]:
        raise _Hostile(f"a number is too small (the smallest is {FLOAT_RANGE[0]:g})")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_int=_int, parse_float=_float)


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
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _too_deep(value):
        raise invalid_json(f"it is nested deeper than {MAX_DEPTH} levels")
    if b"\\u" in raw and _SURROGATE.search(raw) and not _encodable(value):
        raise invalid_json("a string holds a lone UTF-16 surrogate escape")
    return value


def _too_deep(value: Any) -> bool:
    """Tell whether `value` nests containers deeper than MAX_DEPTH (a walk level by level)."""
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return True
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) in _CONTAINERS]
    return False


def _encodable(value: Any) -> bool:
    """Tell whether every string (and key) in `value` can be written as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
