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
