"""boto3 clients for an AWS environment: the emulator's, or a real account's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class AwsSession:
    """boto3 clients for an environment (``AWS_ENDPOINT_URL`` included, whatever os.environ says).

    The same code serves real AWS: without ``AWS_ENDPOINT_URL`` the clients use the default
    endpoints and the credentials boto3 finds.
    """

    env: Mapping[str, str]

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this environment's endpoint and credentials."""
        session = boto3.Session(
            aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=self.env.get("AWS_SESSION_TOKEN"),
            region_name=self.env.get("AWS_DEFAULT_REGION") or self.env.get("AWS_REGION"),
        )
        endpoint = self.env.get("AWS_ENDPOINT_URL")
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def session_for(aws_env: Mapping[str, str]) -> AwsSession:
    """Clients on the environment ``aws_env`` describes (see :class:`AwsSession`)."""
    return AwsSession(aws_env)
