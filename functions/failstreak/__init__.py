"""failstreak: find the jobs that keep failing, tell their owners once, and again when they are fixed."""

__version__ = "0.1.0"
