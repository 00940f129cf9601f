#!/usr/bin/env python3
"""The reference CDK app: ``npx cdk synth`` / ``npx cdk deploy`` run this."""

from event_fanout.app_factory import build_app

app, _ = build_app()
app.synth()
