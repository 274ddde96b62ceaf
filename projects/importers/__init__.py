"""Readers for every import format, and the import job that uses them.

``files`` opens an upload safely (size, gzip and bomb guard, encodings, line limits),
``formats`` turns each format's rows into conversations, ``pipeline`` detects the
format and normalizes and validates rows, ``normalize`` holds the text normalization
and prompt fingerprint shared with the checks.
"""
