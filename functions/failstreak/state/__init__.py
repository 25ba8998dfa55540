"""The state document: its encoding (docs/state.md) and, later, its port and stores (docs/architecture.md)."""
