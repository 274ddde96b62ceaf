"""Automated checks: small pure functions over a revision."""
