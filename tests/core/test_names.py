"""The matching rules of accounts, contacts and owners (``core/names.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core.names import (
    base_key,
    close_names,
    email_domain,
    email_key,
    name_key,
    same_contact,
    similar_accounts,
    similar_contact,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME, Inc.", "acme inc"),
        ("  acme   inc ", "acme inc"),
        ("Acme", "acme"),
        ("Straße GmbH", "strasse gmbh"),
        ("ＡＣＭＥ", "acme"),  # full-width letters (NFKC)
        ("a_b", "a b"),
        # found by an attack run: a dotted capital I, an invisible space, accents
        ("İstanbul", "istanbul"),
        ("ISTANBUL", "istanbul"),
        ("Ac\u200bme", "acme"),
        ("Café Société", "cafe societe"),
        ("---", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_name_key(name: str | None, key: str) -> None:
    assert name_key(name) == key


@pytest.mark.parametrize(
    ("key", "base"),
    [("acme inc", "acme"), ("acme co ltd", "acme"), ("acme", "acme"), ("co", "co"),
     ("inc acme", "inc acme"), ("globex gmbh", "globex")],
)  # fmt: skip
def test_base_key_drops_trailing_legal_forms(key: str, base: str) -> None:
    assert base_key(key) == base


def test_similar_accounts_are_alike_but_not_the_same() -> None:
    others = [(1, "acme"), (2, "acme inc"), (3, "acme corp"), (4, "acmex"), (5, "globex")]
    assert similar_accounts("acme inc", others) == [1, 3]
    assert similar_accounts("acme", others) == [2, 3]
    assert similar_accounts("globex", others) == []


def test_contacts_are_one_person_by_email_else_by_name_at_an_account() -> None:
    assert same_contact(("jane doe", "jane@acme.com", 1), ("j doe", "jane@acme.com", 2))
    assert not same_contact(("jane doe", "jane@acme.com", 1), ("jane doe", "jd@acme.com", 1))
    assert same_contact(("jane doe", "", 1), ("jane doe", "jane@acme.com", 1))
    assert not same_contact(("jane doe", "", 1), ("jane doe", "", 2))
    assert not same_contact(("", "", None), ("", "", None))
    assert similar_contact(("jane doe", "jane@acme.com", 1), ("jane doe", "jd@acme.com", 1))
    assert similar_contact(("jane doe", "", 1), ("jane doe", "", 2))
    assert not similar_contact(("jane doe", "", 1), ("jane doe", "", 1))


def test_email_key_and_domain() -> None:
    assert email_key(" Jane@ACME.com ") == "jane@acme.com"
    assert email_domain("Jane@ACME.com") == "acme.com"
    assert email_domain("nobody") == "" and email_domain(None) == ""


def test_close_names_suggests_what_a_mistyped_owner_meant() -> None:
    names = ["Sam Rep", "Ann Lee", "Bob"]
    assert close_names("sam", names) == ["Sam Rep"]
    assert close_names("SAM REP", names) == ["Sam Rep"]
    assert close_names("ann le", names) == ["Ann Lee"]
    assert close_names("zed", names) == []
    assert close_names("!!", names) == []


_names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40)


@given(_names)
def test_key_is_idempotent_and_ignores_case_and_punctuation(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key
    assert key == key.strip() and "  " not in key
    assert name_key(name.upper()) == name_key(name.lower()) or not name.isascii()
    assert name_key(f"  {name}, .") == key


@given(_names, st.sampled_from(["Inc.", "ltd", "GmbH", "LLC", "corp", "S.A."]))
def test_a_legal_form_makes_a_similar_account_never_the_same(name: str, form: str) -> None:
    key = name_key(name)
    if not key or key.split()[-1] in {"inc", "ltd", "gmbh", "llc", "corp", "sa", "s", "a"}:
        return
    longer = name_key(f"{name} {form}")
    assert longer != key
    assert base_key(longer) == base_key(key)
    assert similar_accounts(longer, [(1, key)]) == [1]


@given(_names)
def test_base_key_is_a_prefix_of_the_key(name: str) -> None:
    key = name_key(name)
    assert key.startswith(base_key(key))
    assert base_key(base_key(key)) == base_key(key)
