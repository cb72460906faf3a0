"""Deal writes: add, edit, move, log. Each runs inside the caller's one transaction (``Tx``),
records what it changed in the append-only event history, and keeps the deals table (the
current state) in step. Imported only by write commands (it uses the ORM models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pipectl.core.contacts import normalize_tags
from pipectl.core.money import Money
from pipectl.errors import InputError, NotFound, PipectlError
from pipectl.store import queries
from pipectl.store.models import Activity, Deal, Event
from pipectl.store.orm import Tx

ACTIVITY_KINDS = ("call", "email", "meeting", "demo", "note")
MAX_TEXT = 10_000

#: Fields ``edit`` may change, and how they are stored.
EDITABLE = (
    "title",
    "account",
    "contact_name",
    "contact_email",
    "contact_phone",
    "value_minor",
    "currency",
    "expected_close",
    "source",
    "tags",
    "owner",
    "external_id",
)


def _text(value: str | None, what: str, *, required: bool = False) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split()) if what != "text" else value.strip()
    if not value:
        if required:
            raise InputError(f"the {what} cannot be empty")
        return None
    if len(value) > MAX_TEXT:
        raise InputError(f"the {what} is too long ({len(value)} characters; at most {MAX_TEXT})")
    return value


def _event(tx: Tx, deal_id: int, at: datetime, kind: str, **kw: Any) -> None:
    tx.session.add(Event(deal_id=deal_id, at=at, kind=kind, **kw))


def _get(tx: Tx, deal_id: int) -> Deal:
    deal = tx.session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal #{deal_id}")
    return deal


def _check_external_id(tx: Tx, external_id: str | None, deal_id: int | None) -> None:
    if external_id is None:
        return
    row = tx.conn.execute("SELECT id FROM deals WHERE external_id = ?", (external_id,)).fetchone()
    if row and row[0] != deal_id:
        raise InputError(f"external id {external_id!r} already belongs to deal #{row[0]}")


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


def add_deal(tx: Tx, new: NewDeal, now: datetime) -> int:
    if new.stage.kind != "open":
        raise InputError(
            f"a new deal starts in an open stage, not {new.stage.name!r}"
            " (add it, then move it to won or lost)"
        )
    title = _text(new.title, "title", required=True)
    external_id = _text(new.external_id, "external id")
    _check_external_id(tx, external_id, None)
    deal = Deal(
        title=title or "",
        account=_text(new.account, "account"),
        contact_name=_text(new.contact_name, "contact name"),
        contact_email=new.contact_email,
        contact_phone=_text(new.contact_phone, "phone"),
        value_minor=new.value.minor if new.value else None,
        currency=new.value.currency if new.value else new.currency,
        stage_id=new.stage.id,
        status="open",
        expected_close=new.expected_close,
        source=_text(new.source, "source"),
        tags=",".join(normalize_tags(list(new.tags))),
        owner=_text(new.owner, "owner"),
        external_id=external_id,
        created_at=now,
        updated_at=now,
        stage_entered_at=now,
        last_touch_at=now,
    )
    tx.session.add(deal)
    tx.session.flush()
    assert deal.id is not None
    _event(tx, deal.id, now, "created", to_stage_id=new.stage.id)
    if new.note:
        log_activity(tx, deal.id, "note", new.note, now, now)
    return deal.id


def _stored(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def edit_deal(tx: Tx, deal_id: int, changes: dict[str, Any], now: datetime) -> list[str]:
    """Apply field changes; returns the names of the fields that really changed."""
    deal = _get(tx, deal_id)
    changed: list[str] = []
    for field, value in changes.items():
        if field not in EDITABLE:
            raise InputError(f"{field} cannot be edited")
        if field == "title":
            value = _text(value, "title", required=True)
        elif field == "tags":
            value = ",".join(normalize_tags(list(value)))
        elif field == "external_id":
            value = _text(value, "external id")
            _check_external_id(tx, value, deal_id)
        elif isinstance(value, str) and field != "currency":
            value = _text(value, field.replace("_", " "))
        old = getattr(deal, field)
        if old == value:
            continue
        setattr(deal, field, value)
        changed.append(field)
        _event(
            tx,
            deal_id,
            now,
            "field",
            field=field,
            old_value=_stored(field, old),
            new_value=_stored(field, value),
        )
    if changed:
        deal.updated_at = now
        deal.last_touch_at = now
        tx.session.add(deal)
    return changed


def exit_questions(
    deal: queries.DealRow, target: queries.StageRow, stages: list[queries.StageRow]
) -> tuple[str, ...]:
    """The questions to answer before ``deal`` moves to ``target``: the current stage's exit
    criteria, asked only on a forward move between open stages."""
    if deal.status != "open" or target.kind != "open" or target.position <= deal.stage_position:
        return ()
    return next((s.exit_questions for s in stages if s.id == deal.stage_id), ())


def move_deal(
    tx: Tx,
    deal_id: int,
    target: queries.StageRow,
    now: datetime,
    *,
    reason: str | None = None,
    expected_stage_id: int | None = None,
) -> str:
    """Move a deal to ``target`` (an open stage, won or lost); returns what happened."""
    deal = _get(tx, deal_id)
    if expected_stage_id is not None and deal.stage_id != expected_stage_id:
        raise PipectlError(f"deal #{deal_id} was moved by someone else meanwhile; try again")
    if deal.stage_id == target.id:
        raise InputError(f"deal #{deal_id} is already in {target.name}")
    reason = _text(reason, "reason")
    if target.kind == "lost" and not reason:
        raise InputError("a lost deal needs a reason: --reason TEXT (e.g. 'no budget')")
    old_stage, old_status = deal.stage_id, deal.status
    deal.stage_id = target.id
    deal.status = target.kind
    deal.stage_entered_at = now
    deal.updated_at = now
    deal.last_touch_at = now
    if target.kind == "open":
        deal.closed_at = None
        deal.lost_reason = None
    else:
        deal.closed_at = now
        deal.lost_reason = reason if target.kind == "lost" else None
    kind = "reopened" if old_status != "open" and target.kind == "open" else "stage"
    tx.session.add(deal)
    _event(tx, deal_id, now, kind, from_stage_id=old_stage, to_stage_id=target.id, note=reason)
    if target.kind != "open" and old_status == "open":
        from pipectl.services.followups import close_for_deal

        close_for_deal(tx, deal_id, now, f"deal {target.kind}")
    return "reopened" if kind == "reopened" else {"open": "moved"}.get(target.kind, target.kind)


def log_activity(tx: Tx, deal_id: int, kind: str, text: str, at: datetime, now: datetime) -> int:
    if kind not in ACTIVITY_KINDS:
        raise InputError(f"not an activity kind: {kind!r} (one of {', '.join(ACTIVITY_KINDS)})")
    body = _text(text, "text", required=True)
    if at > now:
        raise InputError("an activity cannot be logged in the future")
    deal = _get(tx, deal_id)
    activity = Activity(deal_id=deal_id, kind=kind, at=at, text=body or "", created_at=now)
    tx.session.add(activity)
    if at > deal.last_touch_at:
        deal.last_touch_at = at
        tx.session.add(deal)
    tx.session.flush()
    assert activity.id is not None
    return activity.id
