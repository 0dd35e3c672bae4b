"""DynamoDB Local and an S3-compatible server (moto) as real processes on free loopback ports.

DynamoDB Local is the jar shipped in the npm package `amplify-dynamodb-simulator`, which
`make dynamodb-local` (a dependency of `make test`) unpacks under `.cache/dynamodb-local/`.
Both listen on 127.0.0.1 ports chosen here; DynamoDB Local has no bind-address option and
listens on every interface of that port, for the length of the session.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

from askservice import aws
from tests.servers import REPO, Process, free_port, wait_until

DYNAMODB_LOCAL_JAR = REPO / ".cache" / "dynamodb-local" / "package" / "emulator" / "DynamoDBLocal.jar"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": REGION}


class AwsServer(Process):
    """A local AWS-compatible server for one service on a free port, ready when its probe answers."""

    service = ""

    def __init__(self, args_for_port, log: Path, cwd: Path | None = None):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        super().__init__(args_for_port(self.port), cwd=cwd, log=log)

        def ready():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.service} server exited with {self.popen.returncode}:\n{self.log_text()[-3000:]}")
            return self.probe() or True

        try:
            wait_until(ready, timeout=60, interval=0.1, what=f"{self.service} server on {self.port}")
        except BaseException:
            self.stop()
            raise

    def probe(self):
        """Make one cheap request (raises until the server answers)."""
        raise NotImplementedError

    def client(self):
        """Return a boto3 client for this server."""
        import boto3

        return boto3.session.Session().client(
            self.service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=aws.config(),
        )


class DynamoLocal(AwsServer):
    """DynamoDB Local, in memory, on a free port."""

    service = "dynamodb"

    def __init__(self, tmp: Path):
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is missing (DynamoDB Local needs Java 17+): apt-get install -y openjdk-17-jre-headless")
        if not DYNAMODB_LOCAL_JAR.is_file():
            raise RuntimeError(f"DynamoDB Local is not installed ({DYNAMODB_LOCAL_JAR} is missing): run `make dynamodb-local`")
        lib = DYNAMODB_LOCAL_JAR.parent / "DynamoDBLocal_lib"
        super().__init__(
            lambda port: [java, f"-Djava.library.path={lib}", "-jar", str(DYNAMODB_LOCAL_JAR),
                          "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(port)],
            log=tmp / "dynamodb-local.log",
            cwd=DYNAMODB_LOCAL_JAR.parent,
        )

    def probe(self):
        self.client().list_tables(Limit=1)

    @staticmethod
    def new_table() -> str:
        """Return a table name nobody used yet (the store creates it)."""
        return "t" + uuid.uuid4().hex[:16]

    def env(self, table: str | None = None) -> dict[str, str]:
        """Return the environment that points askservice at this server (a fresh table by default)."""
        return {
            "STORE_URL": f"dynamodb://{table or self.new_table()}",
            "STORE_CREATE_TABLE": "1",
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
            **CREDENTIALS,
        }


class S3Server(AwsServer):
    """moto's S3-compatible server on a free port, with one bucket."""

    service = "s3"
    bucket = "askservice-test"

    def __init__(self, tmp: Path):
        super().__init__(
            lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            log=tmp / "moto-s3.log",
        )
        self.client().create_bucket(Bucket=self.bucket)

    def probe(self):
        self.client().list_buckets()

    def env(self, prefix: str | None = None) -> dict[str, str]:
        """Return the environment that points askservice's blobs at this server (a fresh prefix by default)."""
        return {
            "BLOB_URL": f"s3://{self.bucket}/{prefix or uuid.uuid4().hex[:12]}",
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            **CREDENTIALS,
        }
