"""Operating a deployed fan-out: find it, see its state, redrive, replay, route.

The ``event-fanout`` commands are thin wrappers over these modules, which work the same on real
AWS (the caller's credentials and region) and on the local emulator (``AWS_ENDPOINT_URL``).
"""
