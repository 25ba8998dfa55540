"""Secrets from AWS Secrets Manager or SSM Parameter Store, through powertools parameters.

Values are cached in the process for `MAX_AGE_S` seconds, so warm Lambda invocations do not call the APIs
again. Errors name the reference (`secret:NAME`, `ssm:NAME`), never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failstreak.errors import ConfigError

if TYPE_CHECKING:
    from failstreak.secretref import SecretRef

MAX_AGE_S = 300


def fetch(ref: SecretRef) -> str:
    """The value a `secret:` or `ssm:` reference points to (SecureString parameters are decrypted)."""
    # powertools parameters imports boto3; only a config that references a secret pays for it.
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    where = ref.describe()
    try:
        if ref.secret:
            value = parameters.get_secret(ref.secret, max_age=MAX_AGE_S)
        elif ref.ssm:
            value = parameters.get_parameter(ref.ssm, decrypt=True, max_age=MAX_AGE_S)
        else:
            raise ConfigError(f"{where}: not a Secrets Manager or SSM reference")
    except (parameters.GetParameterError, BotoCoreError) as e:
        # The vendor message names the API error (AccessDenied, ResourceNotFound...), not the value.
        raise ConfigError(f"{where}: cannot fetch: {_first_line(e)}") from None
    if not value:
        raise ConfigError(f"{where}: empty")
    return value


def clear_cache() -> None:
    """Forget cached values (tests; a rotated secret is otherwise picked up after MAX_AGE_S)."""
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _first_line(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0]
