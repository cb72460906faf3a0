"""The CRM profiles are data: every one names real import fields, stages that a new pipeline
has (or won / lost), and status words pipectl knows."""

from __future__ import annotations

import pytest

from pipectl.core import crm, importing
from pipectl.core.stages import DEFAULT_STAGES
from pipectl.errors import InputError


def test_every_profile_names_import_fields_and_our_default_stages() -> None:
    profiles = crm.profiles()
    assert set(profiles) == {"hubspot", "pipedrive", "salesforce"}
    ours = {s.name for s in DEFAULT_STAGES if s.kind == "open"} | {"won", "lost"}
    for p in profiles.values():
        assert set(p.columns) <= set(importing.FIELDS), p.key
        assert set(p.stages.values()) <= ours, p.key
        assert set(p.statuses.values()) <= {"open", "won", "lost", "skip"}, p.key
        assert p.recognise_at <= len(p.signature)


def test_recognised_by_headers_only_when_enough_of_them_match() -> None:
    assert crm.recognise(["Deal Name", "Deal Stage", "Record ID"]).key == "hubspot"  # type: ignore[union-attr]
    assert crm.recognise(["Deal - Title", "Deal - Value", "Deal - Status"]).key == "pipedrive"  # type: ignore[union-attr]
    assert crm.recognise(["StageName", "CloseDate", "IsWon"]).key == "salesforce"  # type: ignore[union-attr]
    assert crm.recognise(["title", "value", "stage", "close date"]) is None
    # a sheet of one's own with common words is not taken for an export (whose date order
    # it would assume): only headers the CRM's own export has count
    own = ["Account Name", "Stage", "Close Date", "Lead Source", "Next Step", "Amount"]
    assert crm.recognise(own) is None
    assert crm.recognise(["Deal Name", "Stage"]) is None


def test_from_names_a_profile_or_lists_them() -> None:
    assert crm.named(" HubSpot ").name == "HubSpot"
    with pytest.raises(InputError, match="known: hubspot, pipedrive, salesforce"):
        crm.named("zoho")
    assert crm.stage_map("salesforce")["negotiation/review"] == "Negotiation"
    assert crm.stage_map(None) == {}
