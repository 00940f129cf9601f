"""A syrupy extension that snapshots CloudFormation templates normalized.

Needs syrupy (``pip install cdk-event-fanout[testing]``), which your tests already use if they
take snapshots.

Examples
--------
.. code-block:: python

    from aws_cdk.assertions import Template
    from event_fanout.testing.snapshot import NormalizedTemplateExtension

    def test_orders_stack(snapshot):
        template = Template.from_stack(build_orders_stack()).to_json()
        assert template == snapshot(extension_class=NormalizedTemplateExtension)

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syrupy.extensions.json import JSONSnapshotExtension

from event_fanout.testing.templates import normalize_template

__all__ = ["NormalizedTemplateExtension"]


class NormalizedTemplateExtension(JSONSnapshotExtension):
    """``JSONSnapshotExtension`` that runs :func:`normalize_template` on a template first.

    Values that are not mappings are serialized as the JSON extension does.
    """

    def serialize(self, data: Any, **kwargs: Any) -> Any:
        """Normalize a template (any mapping), then serialize it as JSON."""
        if isinstance(data, Mapping):
            data = normalize_template(data)
        return super().serialize(data, **kwargs)
