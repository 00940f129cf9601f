"""Local AWS: the moto emulator and its compatibility fixes, deploy, runner and demo."""
