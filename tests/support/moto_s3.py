"""A real S3 HTTP API on loopback for tests: moto's ``ThreadedMotoServer``.

``with moto_s3_server() as endpoint:`` starts the server on 127.0.0.1 and a
port the OS picks, yields ``http://127.0.0.1:<port>``, and stops it (after
resetting moto's in-memory state) when the block ends. :func:`s3_client`
builds a real boto3 client for that endpoint with dummy credentials passed
as arguments, so nothing reads or needs the host's AWS configuration and no
request can reach AWS.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@contextlib.contextmanager
def moto_s3_server() -> Iterator[str]:
    """Run moto's S3 on 127.0.0.1 (free port) for the duration of the block."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        with contextlib.suppress(OSError):
            request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        server.stop()


def s3_client(endpoint: str, *, max_attempts: int = 1, **config: Any) -> Any:
    """A boto3 S3 client for ``endpoint`` with dummy credentials and short timeouts.

    ``max_attempts=1`` turns botocore's own retries off so a test controls
    every attempt.
    """
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",  # dummy credentials: moto accepts any
        aws_secret_access_key="testing",
        aws_session_token="testing",
        config=Config(
            connect_timeout=2,
            read_timeout=10,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            s3={"addressing_style": "path"},
            **config,
        ),
    )
