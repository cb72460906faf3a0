"""Accounts and contacts: what ``pipectl account`` and ``pipectl contact`` read and change,
as plain data (dicts, the JSON documented in docs/json.md). Every change goes through
``store/accounts.py`` in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipectl.errors import InputError, PipectlError
from pipectl.store import accounts as store
from pipectl.store.engine import Database

#: How many of an account's latest activities ``account show`` lists.
LATEST_ACTIVITIES = 10


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def contact_json(c: store.ContactRow, deals: int | None = None) -> dict[str, Any]:
    out = {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
        "account_id": c.account_id,
        "account": c.account,
    }
    if deals is not None:
        out["deals"] = deals
    return out


def account_list(db: Database) -> list[dict[str, Any]]:
    return store.list_accounts(db)


def account_show(db: Database, account_id: int) -> dict[str, Any]:
    """An account with its deals (open first), totals per status and currency, contacts and
    latest activities."""
    from pipectl.store.queries import parse_ts

    a = store.get_account(db, account_id)
    deals = []
    totals: dict[str, dict[str, int]] = {"open": {}, "won": {}, "lost": {}}
    for did, title, stage, status, minor, currency, close, closed in store.account_deals(
        db, account_id
    ):
        deals.append(
            {
                "id": did, "title": title, "stage": stage, "status": status,
                "value_minor": minor, "currency": currency,
                "expected_close": _day(close),
                "closed_at": parse_ts(closed) if isinstance(closed, str) else closed,
            }
        )  # fmt: skip
        if minor is not None:
            per = totals.setdefault(status, {})
            per[currency] = per.get(currency, 0) + int(minor)
    contacts = store.list_contacts(db, account_id)
    counts = store.deal_counts(db, [c.id for c in contacts])
    activities = [
        {
            "id": i, "deal_id": d, "deal": t, "kind": k,
            "at": parse_ts(at) if isinstance(at, str) else at, "text": text,
        }
        for i, d, t, k, at, text in store.account_activities(db, account_id, LATEST_ACTIVITIES)
    ]  # fmt: skip
    return {
        "id": a.id,
        "name": a.name,
        "deals": deals,
        "totals": totals,
        "contacts": [contact_json(c, counts.get(c.id, 0)) for c in contacts],
        "activities": activities,
    }


def contact_list(db: Database, account_id: int | None = None) -> list[dict[str, Any]]:
    contacts = store.list_contacts(db, account_id)
    counts = store.deal_counts(db, [c.id for c in contacts])
    return [contact_json(c, counts.get(c.id, 0)) for c in contacts]


def contact_show(db: Database, contact_id: int) -> dict[str, Any]:
    c = store.get_contact(db, contact_id)
    deals = [
        {
            "id": d, "title": t, "stage": s, "status": st, "value_minor": v,
            "currency": cur, "primary": bool(p),
        }
        for d, t, s, st, v, cur, p in store.contact_deals(db, contact_id)
    ]  # fmt: skip
    return {**contact_json(c), "deals": deals}


def add_contact(
    db: Database,
    typed: store.ContactInput,
    now: datetime,
    *,
    account: str | None = None,
    deal_id: int | None = None,
    primary: bool = False,
) -> dict[str, Any]:
    """Add a contact (or find the one it is: the same email, or the same name at the same
    account), optionally at an account and on a deal: the deal's primary contact with
    ``primary`` or when it has none, else one more of its contacts. Returns the contact's
    JSON with ``created``, ``deal_id``, ``primary`` and ``notes`` (suggested merges)."""
    if primary and deal_id is None:
        raise InputError("--primary needs --deal DEAL")
    notes: list[str] = []
    account_id = None
    if account is not None:
        account_id, _, made = store.ensure_account(db, account, now)
        if made:
            notes += store.account_notes(db, [account_id])
    elif deal_id is not None:
        account_id = store.deal_account(db, deal_id)
    contact_id, created = store.ensure_contact(db, typed, account_id, now)
    if created:
        notes += store.contact_notes(db, [contact_id])
    made_primary = False
    if deal_id is not None:
        current = store.primary_of(db, deal_id)
        made_primary = primary or current is None or current == contact_id
        if made_primary and current != contact_id:
            store.set_primary(db, deal_id, contact_id, now, note="primary contact")
            if current is not None:  # the previous primary stays on the deal
                store.attach(db, deal_id, current, primary=False)
        elif not made_primary:
            store.attach(db, deal_id, contact_id, primary=False)
    c = store.get_contact(db, contact_id)
    return {
        **contact_json(c),
        "created": created,
        "deal_id": deal_id,
        "primary": made_primary,
        "notes": notes,
    }


def managers_only(db: Database, what: str) -> None:
    """On a team, renaming or merging an account or contact is a manager's: the deals that
    name it (and carry its name) may be other reps', which a rep cannot change."""
    from pipectl.store.engine import POSTGRESQL

    if db.kind != POSTGRESQL:
        return
    from pipectl.store.team import sees_all

    if not sees_all(db):  # type: ignore[arg-type]
        raise PipectlError(
            f"on a team pipeline {what} is a manager's job: other reps' deals may name it"
            " (ask a manager, or 'pipectl edit DEAL --account/--contact' for your own deal)"
        )


def edit_contact(
    db: Database, contact_id: int, changes: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Change a contact's name, email, phone or account (``account``: a name, '' for none);
    the deals it is the primary contact of follow."""
    from pipectl.core.contacts import validate_email

    c = store.get_contact(db, contact_id)
    out: dict[str, Any] = {}
    for key in ("name", "email", "phone"):
        if key in changes:
            value = changes[key]
            value = " ".join(value.split()) if value else None
            if key == "email" and value:
                value = validate_email(value)
            store.ContactInput(**{key: value}).cleaned()  # the caps
            if value != getattr(c, key):
                out[key] = value
    notes: list[str] = []
    if "account" in changes:
        if changes["account"]:
            aid, _, made = store.ensure_account(db, changes["account"], now)
            if made:
                notes += store.account_notes(db, [aid])
        else:
            aid = None
        if aid != c.account_id:
            out["account_id"] = aid
    if not changes:
        raise InputError("nothing to change (see 'pipectl contact edit --help')")
    if out.get("email"):
        other = store.contact_with_email(db, out["email"], contact_id)
        if other is not None:
            raise InputError(
                f"contact #{other} has that email address: merge them instead"
                f" (pipectl contact merge {contact_id} {other})"
            )
    deals = store.update_contact(db, contact_id, dict(out), now, note="contact edited")
    changed = ["account" if k == "account_id" else k for k in out]
    return {**contact_json(store.get_contact(db, contact_id)), "changed": changed,
            "deals": deals, "notes": notes}  # fmt: skip
