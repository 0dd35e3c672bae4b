"""boto3 clients as the service makes them: one per process and service, standard retries.

Endpoints and credentials come from boto3's own configuration (`AWS_ENDPOINT_URL_DYNAMODB`,
`AWS_ENDPOINT_URL_S3`, the credential chain); the region from `AWS_REGION` or
`AWS_DEFAULT_REGION` (boto3 itself reads only the latter). Clients, unlike resources, are safe to
share between greenlets and threads.
"""

from __future__ import annotations

import functools
import os

MAX_POOL_CONNECTIONS = 64  # greenlets of a worker share one client; keep their connections


def config(**overrides):
    """Return the botocore Config every client uses."""
    from botocore.config import Config

    return Config(retries={"mode": "standard"}, max_pool_connections=MAX_POOL_CONNECTIONS, **overrides)


@functools.cache
def client(service: str):
    """Return this process's client for `service` ("dynamodb", "s3")."""
    import boto3

    session = boto3.session.Session()
    return session.client(service, region_name=os.environ.get("AWS_REGION") or None, config=config())
