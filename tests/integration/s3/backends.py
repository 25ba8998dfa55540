"""A test's handle on one S3 backend: its client and a fresh bucket, with small helpers."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import boto3
from mypy_boto3_s3 import S3Client

_bucket_numbers = itertools.count()


@dataclass
class S3:
    """One backend for a test: its client (the shared one the adapters use; on a light-client backend, a boto3
    client of the test's own on the same server) and a fresh, empty bucket."""

    backend: str
    client: S3Client
    bucket: str

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str = "") -> list[str]:
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(o["Key"] for o in page.get("Contents", ()))
        return sorted(out)

    def new_bucket(self) -> str:
        name = f"fs-{os.getpid()}-{next(_bucket_numbers)}"
        self.client.create_bucket(Bucket=name)
        return name


def plain_client(endpoint: str | None = None) -> S3Client:
    """A client of the test's own, independent of the adapters' shared one."""
    return boto3.session.Session().client("s3", endpoint_url=endpoint)
