"""The behaviour of askservice, free of Flask: one module per resource, built together here."""

from __future__ import annotations

from dataclasses import dataclass

from askservice.config import Settings


@dataclass(frozen=True)
class Services:
    """Every service the web layer can call, built once per app."""

    settings: Settings


def build_services(settings: Settings) -> Services:
    """Wire the edges (upstream, store, blobs) into the services."""
    return Services(settings=settings)
