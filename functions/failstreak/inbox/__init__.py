"""The inbox: its port, the record parser and the readers of inbox files (docs/architecture.md)."""
