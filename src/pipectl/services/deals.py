"""Deal writes: add, edit, move, log. Each validates what a person typed, then changes the deal
through ``store/deals.py`` (the one path every change takes) inside the caller's one
transaction. Plain SQL underneath: capture costs no ORM start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pipectl.clock import local_noon, local_today, to_local
from pipectl.core import fields
from pipectl.core.contacts import normalize_tags
from pipectl.core.money import Money
from pipectl.core.states import EventKind, Status
from pipectl.errors import InputError
from pipectl.store import deals as store
from pipectl.store import queries
from pipectl.store.engine import Database

ACTIVITY_KINDS = ("call", "email", "meeting", "demo", "note")

#: Fields ``edit`` may change (the field registry's).
EDITABLE = fields.EDITABLE


def clean_text(
    value: str | None, what: str, *, required: bool = False, field: str | None = None
) -> str | None:
    """Whitespace folded (kept, but trimmed, for free text). Its length is checked against
    ``core.fields.MAX_TEXT`` unless ``field`` names the deal field it is stored in: that
    field's cap is checked where every write goes (``store.deals``)."""
    if value is None:
        return None
    value = " ".join(value.split()) if what != "text" else value.strip()
    if not value:
        if required:
            raise InputError(f"the {what} cannot be empty")
        return None
    if field is None and len(value) > fields.MAX_TEXT:
        raise InputError(
            f"the {what} is too long ({len(value)} characters; at most {fields.MAX_TEXT})"
        )
    return value


def close_warnings(expected_close: date | None, now: datetime) -> list[str]:
    """What a person should hear about an expected close date just typed: a day already past
    (``--close 3/12`` in November is March, not next March) is kept, with a note."""
    if expected_close is not None and expected_close < local_today(now):
        return [f"close date {expected_close.isoformat()} is in the past"]
    return []


def dated(day: date | None, now: datetime, what: str, after: datetime | None = None) -> datetime:
    """When something a person dates ``--at DAY`` happened, as ``log --at`` dates an activity:
    now for today (or no day), noon for an earlier local day — on the day of ``after`` (the
    deal's creation, its previous move), at ``after``, not before it. A later day is refused:
    ``what`` (``"a move"``) ``cannot be dated in the future``."""
    if day is None:
        return now
    if day > local_today(now):
        raise InputError(f"{what} cannot be dated in the future ({day.isoformat()})")
    if day == local_today(now):
        return now
    when = local_noon(day)
    if after is not None and local_today(after) == day:
        when = max(when, after)
    return when


def _check_external_id(db: Database, external_id: str | None, deal_id: int | None) -> None:
    if external_id is None:
        return
    owner = queries.deal_by_external_id(db, external_id)
    if owner is not None and owner != deal_id:
        raise InputError(f"external id {external_id!r} already belongs to deal #{owner}")


def _owner(db: Database, name: str | None) -> str | None:
    """An owner as typed, as the owners list spells it (``store.accounts.resolve_owner``)."""
    if name is None:
        return None
    from pipectl.store.accounts import resolve_owner

    return resolve_owner(db, name)


@dataclass
class NewDeal:
    title: str
    value: Money | None
    currency: str
    stage: queries.StageRow
    account: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    expected_close: date | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None
    external_id: str | None = None
    note: str | None = None


def add_deal(
    db: Database,
    new: NewDeal,
    now: datetime,
    *,
    on: date | None = None,
    notes: list[str] | None = None,
    playbook: bool = True,
) -> int:
    """Add a deal; ``on`` (``add --at``) is the local day it was created, if not today: its
    creation, first stage, last touch and first note are dated then (``dated``). Its account
    and contact are records (``store/accounts.py``: found by name or email, else created);
    ``notes`` gets a suggested merge for each new record that is like another. Its stage's
    playbook steps are scheduled unless ``playbook`` is false."""
    if on is not None and on > local_today(now):
        raise InputError(f"a deal cannot be added in the future ({on.isoformat()})")
    at = dated(on, now, "a deal")
    if new.stage.kind != Status.OPEN:
        raise InputError(
            f"a new deal starts in an open stage, not {new.stage.name!r}"
            " (add it, then move it to won or lost)"
        )
    external_id = clean_text(new.external_id, "external id", field="external_id")
    _check_external_id(db, external_id, None)
    values = {
        "title": clean_text(new.title, "title", required=True, field="title"),
        "account": clean_text(new.account, "account", field="account"),
        "contact_name": clean_text(new.contact_name, "contact name", field="contact_name"),
        "contact_email": clean_text(new.contact_email, "email", field="contact_email"),
        "contact_phone": clean_text(new.contact_phone, "phone", field="contact_phone"),
        "value_minor": new.value.minor if new.value else None,
        "currency": new.value.currency if new.value else new.currency,
        "expected_close": new.expected_close,
        "source": clean_text(new.source, "source", field="source"),
        "tags": ",".join(normalize_tags(list(new.tags))),
        # on a team (PostgreSQL) a deal belongs to the rep who created it
        "owner": _owner(db, clean_text(new.owner, "owner", field="owner")) or db.user,
        "external_id": external_id,
    }
    contact = link_records(db, values, now, notes)
    deal_id = store.create(db, values, new.stage.id, at, now, playbook=playbook)
    if contact is not None:
        from pipectl.store import accounts

        accounts.attach_new(db, deal_id, contact)
    if new.note:
        log_activity(db, deal_id, "note", new.note, at, now)
    return deal_id


def clean_changes(db: Database, deal_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Field changes as stored: text folded and checked, tags normalised, ids unique."""
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in EDITABLE:
            raise InputError(f"{field} cannot be edited")
        if field == "title":
            value = clean_text(value, "title", required=True, field=field)
        elif field == "tags":
            value = ",".join(normalize_tags(list(value)))
        elif field == "owner" and value is not None:
            value = _owner(db, clean_text(value, "owner", field=field))
        elif field == "external_id":
            value = clean_text(value, "external id", field=field)
            _check_external_id(db, value, deal_id)
        elif isinstance(value, str) and field != "currency":
            value = clean_text(value, field.replace("_", " "), field=field)
        out[field] = value
    return out


def link_records(
    db: Database, values: dict[str, Any], now: datetime, notes: list[str] | None
) -> int | None:
    """A new deal's account and contact text (``values``, as ``store.deals.create`` takes
    them) as records: the account found by name or created, its spelling and id put in
    ``values``; the contact likewise, its details put in ``values``. Returns the contact's
    id (to attach once the deal exists), or None."""
    from pipectl.store import accounts

    account_id = None
    if values.get("account"):
        account_id, values["account"], made = accounts.ensure_account(db, values["account"], now)
        values["account_id"] = account_id
        if made and notes is not None:
            notes += accounts.account_notes(db, [account_id])
    typed = accounts.ContactInput(
        values.get("contact_name"), values.get("contact_email"), values.get("contact_phone")
    )
    if typed.empty:
        return None
    contact_id, made, details, _ = accounts.ensure_contact_details(db, typed, account_id, now)
    values.update(details)
    if made and notes is not None:
        notes += accounts.contact_notes(db, [contact_id])
    return contact_id


def edit_deal(
    db: Database,
    deal_id: int,
    changes: dict[str, Any],
    now: datetime,
    *,
    expected_version: int | None = None,
    notes: list[str] | None = None,
) -> list[str]:
    """Apply field changes; returns the names of the fields that really changed. A new
    account or contact is a record, as in ``add`` (``store.accounts.edit_links``)."""
    from pipectl.store import accounts

    cleaned = clean_changes(db, deal_id, changes)
    after = accounts.edit_links(db, deal_id, cleaned, now, notes)
    changed = store.set_fields(db, deal_id, cleaned, now, expected_version=expected_version)
    after()
    return changed


def exit_questions(
    deal: queries.DealRow, target: queries.StageRow, stages: list[queries.StageRow]
) -> tuple[str, ...]:
    """The questions to answer before ``deal`` moves to ``target``: the current stage's exit
    criteria, asked only on a forward move between open stages."""
    if (
        deal.status != Status.OPEN
        or target.kind != Status.OPEN
        or target.position <= deal.stage_position
    ):
        return ()
    return next((s.exit_questions for s in stages if s.id == deal.stage_id), ())


def move_deal(
    db: Database,
    deal: queries.DealRow,
    target: queries.StageRow,
    now: datetime,
    *,
    reason: str | None = None,
    on: date | None = None,
    playbook: bool = True,
) -> str:
    """Move ``deal`` (as read) to ``target`` (an open stage, won or lost); returns what
    happened. ``on`` (``move --at``) is the local day the move happened, if not today
    (``dated``): never in the future, never before the deal's previous move (its creation
    included), so that its history stays in order. Refused with ``Conflict`` if the deal
    changed since it was read."""
    if deal.stage_id == target.id:
        raise InputError(f"deal #{deal.id} is already in {target.name}")
    lost = target.kind == Status.LOST
    reason = clean_text(reason, "reason", field="lost_reason" if lost else None)
    if lost and not reason:
        raise InputError("a lost deal needs a reason: --reason TEXT (e.g. 'no budget')")
    at = move_time(db, deal, on, now)
    kind = store.change_stage(
        db, deal.id, target, at, reason=reason, expected_version=deal.version, now=now,
        playbook=playbook,
    )  # fmt: skip
    if kind == EventKind.REOPENED:
        return "reopened"
    return "moved" if target.kind == Status.OPEN else str(target.kind)


def move_time(db: Database, deal: queries.DealRow, on: date | None, now: datetime) -> datetime:
    """When a move of ``deal`` dated ``on`` (``move --at``; None: now) happened (``dated``).
    Refused: a day in the future, or a time before the deal's previous move."""
    if on is None:
        return now
    previous, what = _previous_move(db, deal)
    at = dated(on, now, "a move", previous)
    if at < previous:
        raise InputError(
            f"deal #{deal.id} {what} on {_local_minute(previous)}: a move cannot be dated"
            f" before that ({on.isoformat()})"
        )
    return at


def _previous_move(db: Database, deal: queries.DealRow) -> tuple[datetime, str]:
    """(when, what) of the deal's latest move — created, moved, reopened, pruned — or of its
    creation if that is later (an imported history may start after it)."""
    last = store.last_move(db, deal.id)
    if last is None or last[0] < deal.created_at:
        return deal.created_at, "was created"
    at, kind, stage = last
    what = {
        EventKind.CREATED: "was created",
        EventKind.REOPENED: f"was reopened in {stage}",
        EventKind.PRUNED: "was pruned",
    }.get(kind, f"was moved to {stage}")
    return at, what


def _local_minute(at: datetime) -> str:
    return to_local(at).strftime("%Y-%m-%d %H:%M")


def log_activity(
    db: Database, deal_id: int, kind: str, text: str, at: datetime, now: datetime
) -> int:
    if kind not in ACTIVITY_KINDS:
        raise InputError(f"not an activity kind: {kind!r} (one of {', '.join(ACTIVITY_KINDS)})")
    body = clean_text(text, "text", required=True)
    if at > now:
        raise InputError("an activity cannot be logged in the future")
    deal = queries.get_deal(db, deal_id)  # a clear 'no deal' (and, on a team, only one's own)
    if at < deal.created_at:
        created = local_today(deal.created_at).isoformat()
        raise InputError(
            f"deal #{deal_id} was created on {created}: an activity cannot be logged before"
            f" that ({local_today(at).isoformat()})"
        )
    return store.log_activity(db, deal_id, kind, body or "", at, now)
