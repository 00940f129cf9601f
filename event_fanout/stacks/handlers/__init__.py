"""Consumer handlers of the reference stack.

Deployed as the function code (this directory, without this file); each module is a Lambda
handler module (``reporting_sync.handler``, ``audit_log.handler``, ``notification.handler``) that
imports only ``event_fanout.runtime`` (from the runtime layer), Powertools, pydantic and boto3.
"""
