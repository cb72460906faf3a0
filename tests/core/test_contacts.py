import pytest

from pipectl.core.contacts import normalize_tags, parse_contact
from pipectl.errors import InputError


def test_contacts() -> None:
    assert parse_contact("Jane Doe <jane@acme.com>") == ("Jane Doe", "jane@acme.com")
    assert parse_contact("jane@acme.com") == (None, "jane@acme.com")
    assert parse_contact("Jane Doe") == ("Jane Doe", None)
    with pytest.raises(InputError):
        parse_contact("Jane <not-an-email>")


def test_tags() -> None:
    assert normalize_tags(["VIP", "q4,enterprise", "vip", "#hot"]) == [
        "vip",
        "q4",
        "enterprise",
        "hot",
    ]
    with pytest.raises(InputError):
        normalize_tags(["bad'tag"])


def test_hubspot_associated_contact_form() -> None:
    from pipectl.core.contacts import parse_contact

    assert parse_contact("Ravi Haddad (ravi.haddad@example.com)") == (
        "Ravi Haddad",
        "ravi.haddad@example.com",
    )
    assert parse_contact("(ravi@example.com)") == (None, "ravi@example.com")
    assert parse_contact("Acme (EMEA)") == ("Acme (EMEA)", None)  # no address: a name
