"""The inbox: its port, the local and S3 inboxes, the record parser and the file reader (docs/architecture.md)."""
