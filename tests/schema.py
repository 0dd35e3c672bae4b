"""Check objects against the component schemas of OpenAI's spec (`../shared/openai-openapi.yaml`).

`assert_schema(obj, "AssistantObject")` validates with jsonschema (draft 2020-12, the dialect of
OpenAPI 3.1), resolving every `$ref` inside the spec file. The 3 MB file is parsed once a process.
Set OPENAI_SPEC to use another copy of the file.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.servers import REPO

SPEC = Path(os.environ.get("OPENAI_SPEC") or REPO.parent / "shared" / "openai-openapi.yaml")
SPEC_URI = "urn:openai-openapi"


@functools.cache
def _registry() -> Registry:
    if not SPEC.is_file():
        raise RuntimeError(f"OpenAI's spec is missing at {SPEC}: put openai-openapi.yaml there or set OPENAI_SPEC")
    with SPEC.open("rb") as f:
        spec = _nullable(yaml.load(f, Loader=yaml.CSafeLoader))
    return Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))


def _nullable(node):
    """Rewrite OpenAPI 3.0's `nullable: true` (which JSON Schema ignores) as `anyOf [node, null]`."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def validator(component: str) -> jsonschema.Draft202012Validator:
    """Return a validator of the spec's `components.schemas[component]`."""
    registry = _registry()
    if component not in registry.contents(SPEC_URI)["components"]["schemas"]:
        raise KeyError(f"the spec has no component schema {component!r}")
    return jsonschema.Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/{component}"}, registry=registry)


def assert_schema(obj, component: str):
    """Fail with every violation unless `obj` is valid against the spec's `component`; return `obj`."""
    errors = sorted(validator(component).iter_errors(obj), key=lambda e: list(e.absolute_path))
    assert not errors, f"not a valid {component}:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10]
    )
    return obj
