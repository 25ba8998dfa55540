"""Sources: pull job runs from platforms' APIs (Databricks, Dataiku, GitLab, GitHub)."""
