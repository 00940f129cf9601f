"""Local AWS: the moto emulator with compatibility fixes, the CDK deploy, the event-source runner and the demo."""
