"""`python -m askservice.store create-table`: create the store of STORE_URL (table and index) if missing.

Idempotent. On DynamoDB it creates the table (PAY_PER_REQUEST) and its owner index `gsi1`; on
SQLite, opening the store creates the file and schema.
"""

from __future__ import annotations

import argparse
import sys

from askservice.blobs import open_blobs
from askservice.config import Settings
from askservice.errors import ConfigError
from askservice.store import open_store


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m askservice.store")
    parser.add_argument("command", choices=["create-table"])
    parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"askservice: configuration error: {exc}", file=sys.stderr)
        return 2
    blobs = open_blobs(settings)
    store = open_store(settings, blobs)
    created = store.create_table()
    print(f"{settings.store_url}: {'created' if created else 'ready'}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
