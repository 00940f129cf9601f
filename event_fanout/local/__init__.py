"""Local AWS: the moto emulator and its compatibility fixes, deploy, runner and demo.

Generic tooling, for any CDK app: ``server`` and ``moto_compat`` (the emulator), ``cdk_cli``,
``session``, ``deployed_stacks``, ``verification`` and ``deploy`` (a verified ``cdk deploy``),
``runner`` (the event source mappings, played locally) and ``report``. The reference stack's
demo (``demo``, ``aws_demo``, ``publisher``'s budget stream) builds on it; the tooling imports
none of it.
"""
