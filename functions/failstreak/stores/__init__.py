"""State stores and inboxes: the local filesystem and S3."""
