"""Views people open: the run-history page (docs/page.md). `page` renders, pure; `store` writes it (local or S3)."""
