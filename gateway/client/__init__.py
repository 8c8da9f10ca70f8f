"""Clients of a running gateway (the CLI's import commands use them)."""
