"""The domain, pure: no I/O, no clock, no vendor types, no import of config or adapters (docs/architecture.md)."""
