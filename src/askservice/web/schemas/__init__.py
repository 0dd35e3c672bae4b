"""Request models (pydantic) mirroring the spec's request schemas, one module per resource.

The web layer validates every body and query string into these before it calls a service; a
model's field path is the `param` an error names (`history[2].role`).
"""
