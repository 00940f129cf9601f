#!/usr/bin/env python3
"""The reference CDK app: ``npx cdk synth`` / ``npx cdk deploy`` run this."""

from event_fanout.app_factory import main

main()
