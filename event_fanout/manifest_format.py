"""The manifest entries' key and version, shared by who writes them and who reads them.

The constructs write the entries (``event_fanout.constructs.manifest``); the operating tools
read them (``event_fanout.operations.discovery``) and must not import aws_cdk to do so.
"""

from __future__ import annotations

from typing import Final

#: The CloudFormation ``Metadata`` key of every entry.
MANIFEST_KEY: Final = "EventFanout"
#: Raised only when an entry changes incompatibly; readers refuse versions they do not know.
MANIFEST_VERSION: Final = 1
