"""Read request bodies and query strings into pydantic models; every failure is a clear 4xx."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from askservice.errors import InvalidRequestError, UnsupportedMediaTypeError
from askservice.web.jsonbody import loads

M = TypeVar("M", bound=BaseModel)


def json_body(optional: bool = False, form_encoded: bool = False) -> dict[str, Any]:
    """Return the JSON object in the body; `optional` lets an empty body mean `{}`.

    `form_encoded` also takes a JSON object sent as `application/x-www-form-urlencoded` (what
    `curl -d` sends), unless the request carries an `Origin`: a browser may send that type to
    another site without asking CORS first, so only a JSON type may carry a browser's body.
    """
    if optional and not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    if not (request.is_json or (form_encoded and _curl_form())):
        raise UnsupportedMediaTypeError("Content-Type must be application/json.")
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    data = loads(raw)
    if not isinstance(data, dict):
        raise InvalidRequestError("The JSON body must be an object.", code="invalid_json")
    return data


def _curl_form() -> bool:
    return request.mimetype == "application/x-www-form-urlencoded" and "Origin" not in request.headers


def param_path(loc: tuple) -> str:
    """Render a pydantic error location as OpenAI names params: `history[2].role`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


UNION_TAG = re.compile(r"function-.*|.*[\[(].*|[A-Z][A-Za-z0-9]+|str|int|float|bool|dict|list")
"""A part of a pydantic error location that names a union's member or a validator, not a param."""


def _first_error(exc: ValidationError) -> InvalidRequestError:
    error = exc.errors(include_url=False)[0]
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and UNION_TAG.fullmatch(p)))
    param = param_path(loc) or None
    message = error["msg"]
    if error["type"] == "missing":
        return InvalidRequestError(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    return InvalidRequestError(f"Invalid '{param}': {message}.", param=param, code="invalid_value")


def parse(model: type[M], data: Any) -> M:
    """Validate `data` into `model`, or raise a 400 naming the first bad param."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc) from None


def parse_at(model: type[M], data: Any, where: str) -> M:
    """Validate a part of a body found at param `where` (`input[2]`); the 400 names the param inside it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = _first_error(exc)
        inner = error.param
        param = where + ("." + inner if inner and not inner.startswith("[") else inner or "")
        message = error.message.replace(f"'{inner}'", f"'{param}'") if inner else f"Invalid '{param}': {error.message}"
        raise InvalidRequestError(message, param=param, code=error.code) from None


def parse_body(model: type[M], optional: bool = False, form_encoded: bool = False) -> M:
    """Validate the JSON body into `model` (see `json_body` for the flags)."""
    return parse(model, json_body(optional=optional, form_encoded=form_encoded))


def parse_query(model: type[M]) -> M:
    """Validate the query string into `model` (repeated keys become lists)."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        name = key[:-2] if key.endswith("[]") else key
        data[name] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return parse(model, data)
