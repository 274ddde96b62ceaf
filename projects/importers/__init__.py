"""Readers for every import format, and the import job that uses them."""
