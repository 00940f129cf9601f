"""Where AWS publishes the Powertools for AWS Lambda (Python) v3 layer, and what each version holds.

Facts from the Powertools documentation (install page and layer ARN tables, release notes):
the layer ``AWSLambdaPowertoolsPythonV3-{python}-{arch}`` is published in every commercial
region by account 017000801446, in China only in ``cn-north-1`` (account 498634801083), and in
GovCloud by one account per region. GovCloud numbers its versions independently of the other
partitions; China's match the commercial ones from version 37.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Layer version -> the Powertools release it contains (commercial partition). From the layer
#: version bumps in the Powertools docs, each published with one release; 33, 35 and 36 are the
#: releases between two documented points (one layer version per release).
POWERTOOLS_RELEASES: Final[Mapping[int, str]] = {
    32: "3.28.0",
    33: "3.29.0",
    34: "3.30.0",
    35: "3.31.0",
    36: "3.31.1",
    37: "3.34.0",
    38: "3.35.0",
}

#: Publisher account of the layer in the commercial partition (every region).
COMMERCIAL_ACCOUNT: Final = "017000801446"
#: Publisher accounts outside the commercial partition, by region: the only regions there.
OTHER_PARTITION_ACCOUNTS: Final[Mapping[str, str]] = {
    "cn-north-1": "498634801083",
    "us-gov-east-1": "165087284144",
    "us-gov-west-1": "165093116878",
}
#: Regions whose layer versions are numbered independently of the commercial ones.
INDEPENDENTLY_NUMBERED: Final = frozenset({"us-gov-east-1", "us-gov-west-1"})
#: Python runtimes the v3 layer is published for (``python3.10`` .. ``python3.14``).
SUPPORTED_PYTHON: Final = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")


def publisher_account(region: str, partition: str) -> str | None:
    """The account that publishes the layer in ``region`` (of ``partition``), or None if none.

    Examples
    --------
    >>> publisher_account("eu-west-1", "aws"), publisher_account("cn-northwest-1", "aws-cn")
    ('017000801446', None)

    """
    if partition == "aws":
        return COMMERCIAL_ACCOUNT
    return OTHER_PARTITION_ACCOUNTS.get(region)
