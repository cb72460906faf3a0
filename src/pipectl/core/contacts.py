"""Parsing the small free-text fields of quick capture: contacts and tags."""

from __future__ import annotations

import re
from email.utils import parseaddr

from pipectl.errors import InputError

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

#: A tag's longest length (all of a deal's tags together: the ``tags`` field's cap).
MAX_TAG = 50


def parse_contact(text: str) -> tuple[str | None, str | None]:
    """``Jane Doe <jane@acme.com>`` or ``Jane Doe (jane@acme.com)`` -> (name, email);
    ``jane@acme.com`` or ``Jane Doe`` alone."""
    text = text.strip()
    if not text:
        return None, None
    if "<" in text or ">" in text:
        name, email = parseaddr(text)
        if not email or not _EMAIL.match(email):
            raise InputError(f'not a contact: {text!r} (try "Jane Doe <jane@acme.com>")')
        return (name.strip() or None), email
    # HubSpot's associated contact: ``Jane Doe (jane@acme.com)``
    m = re.fullmatch(r"(.*?)\s*\(([^()\s]+@[^()\s]+)\)", text)
    if m and _EMAIL.match(m.group(2)):
        return (m.group(1).strip() or None), m.group(2)
    if "@" in text:
        if not _EMAIL.match(text):
            raise InputError(f"not an email address: {text!r}")
        return None, text
    return text, None


def validate_email(text: str) -> str:
    if not _EMAIL.match(text.strip()):
        raise InputError(f"not an email address: {text!r}")
    return text.strip()


def normalize_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """Lower-case, de-duplicated, comma- or space-separated tags, in the order given."""
    out: list[str] = []
    for chunk in tags:
        for tag in re.split(r"[,\s]+", chunk):
            tag = tag.strip().lower().lstrip("+#")
            if not tag:
                continue
            if len(tag) > MAX_TAG:
                raise InputError(f"tag too long: {len(tag)} characters (at most {MAX_TAG})")
            if not re.fullmatch(r"[\w.:/-]+", tag):
                raise InputError(f"not a tag: {tag!r} (letters, digits, - _ . : / only)")
            if tag not in out:
                out.append(tag)
    return out
