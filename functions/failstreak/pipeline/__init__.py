"""The monitor pass, as stages over the ports: collect, advance, persist, deliver, summary (docs/architecture.md)."""
