"""A device's identity in the table: the short id of the fingerprint dict a device reports."""

from __future__ import annotations

import hashlib
import json


def fingerprint_id_of(fingerprint: dict) -> str:
    """A short, stable id for a fingerprint: the first 16 hex digits of sha256 over its sorted JSON."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
