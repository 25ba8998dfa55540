"""The state document: its store port, the local and S3 stores, its encoding (docs/architecture.md)."""
