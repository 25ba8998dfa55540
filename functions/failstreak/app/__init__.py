"""Entry points and the config: the CLI, the demo, the importer, reports, wiring (docs/architecture.md)."""
