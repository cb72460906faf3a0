"""Matching the names of accounts, contacts and owners: when two spellings are one record,
and when they are only alike (a merge to suggest, never to make silently).

- ``name_key``: the key a name is stored and found under: case folded (``casefold``, so
  ``Straße`` and ``STRASSE`` agree), compatibility forms unified (NFKC), accents and
  invisible characters dropped, every run of punctuation and whitespace one space, trimmed.
  ``"ACME, Inc."`` → ``"acme inc"``. Two names with the same key are the same record:
  ``Acme`` and ``acme`` are one account.
- ``base_key``: the key without trailing legal forms (``inc``, ``ltd``, ``llc``, ``gmbh``…):
  ``"acme inc"`` → ``"acme"``. Two accounts whose keys differ but whose base keys agree
  (``ACME Inc.`` and ``Acme``) are *similar*: pipectl suggests ``account merge``.
- Contacts: one person is one email address (``email_key``); without an email on both
  sides, the same name key at the same account. Two contacts with the same name key but
  different email addresses (or accounts) are similar.
- Owners: ``close_names`` finds the names on a list a mistyped one probably meant
  (``sam`` → ``Sam Rep``).

Pure: no I/O, standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Legal forms dropped from the end of an account's key when looking for similar accounts.
LEGAL_FORMS = frozenset(
    {
        "inc", "incorporated", "ltd", "limited", "llc", "llp", "gmbh", "corp", "corporation",
        "co", "company", "sa", "sas", "sarl", "ag", "plc", "bv", "nv", "oy", "ab", "spa", "srl",
        "pty", "kg", "se",
    }
)  # fmt: skip

_SEPARATORS = re.compile(r"[\W_]+")


def name_key(text: str | None) -> str:
    """The matching key of a name: case and punctuation ignored, whitespace collapsed ('' for
    a name with no letter or digit)."""
    if not text:
        return ""
    # compatibility forms unified and case folded, then accents, other combining marks and
    # invisible format characters (a zero-width space) dropped: "İstanbul" (whose folded
    # "i" carries a combining dot) is "ISTANBUL", "Ac\u200bme" is "Acme", "Café" is "Cafe"
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(c for c in folded if unicodedata.category(c) not in ("Mn", "Me", "Cf"))
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFC", kept)).strip()


def base_key(key: str) -> str:
    """``key`` (a ``name_key``) without trailing legal forms; the key itself when nothing
    else would be left (an account called "Co")."""
    words = key.split()
    while len(words) > 1:
        if words[-1] in LEGAL_FORMS:
            words.pop()
        elif len(words) > 2 and words[-2] + words[-1] in LEGAL_FORMS:  # "S.A." is "s a"
            del words[-2:]
        else:
            break
    return " ".join(words)


def email_key(email: str | None) -> str:
    """An email address as compared: trimmed, case folded ('' for none)."""
    return (email or "").strip().casefold()


def email_domain(email: str | None) -> str:
    """The domain of an email address, case folded ('' for none)."""
    key = email_key(email)
    return key.rpartition("@")[2] if "@" in key else ""


def similar_accounts(key: str, others: Iterable[tuple[int, str]]) -> list[int]:
    """The ids among ``others`` (id, key) of accounts similar to one keyed ``key``: not the
    same key, but the same ``base_key``."""
    base = base_key(key)
    return [i for i, k in others if k != key and base_key(k) == base]


def same_contact(a: tuple[str, str, int | None], b: tuple[str, str, int | None]) -> bool:
    """Are two contacts, each (name key, email key, account id), the same person? The same
    email address; or, when either has none, the same (non-empty) name key at the same
    account."""
    (ka, ea, aa), (kb, eb, ab) = a, b
    if ea and eb:
        return ea == eb
    return bool(ka) and ka == kb and aa == ab


def similar_contact(a: tuple[str, str, int | None], b: tuple[str, str, int | None]) -> bool:
    """Alike but not the same: the same name key with different email addresses, or at
    different accounts."""
    return bool(a[0]) and a[0] == b[0] and not same_contact(a, b)


def close_names(name: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """The names on a list that ``name`` probably meant, best first: the same key; a key
    one of whose words it is, or that starts with it (``sam`` → ``Sam Rep``); else a close
    spelling (difflib ratio at least 0.75)."""
    import difflib

    key = name_key(name)
    if not key:
        return []
    pool = list(dict.fromkeys(names))
    exact = [n for n in pool if name_key(n) == key]
    if exact:
        return exact[:limit]
    words = [n for n in pool if key in name_key(n).split() or name_key(n).startswith(key)]
    if words:
        return words[:limit]
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, name_key(n)).ratio(), n) for n in pool),
        key=lambda t: -t[0],
    )
    return [n for r, n in scored if r >= 0.75][:limit]
