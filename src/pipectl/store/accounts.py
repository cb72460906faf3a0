"""Accounts and contacts as records, and the deals' text kept in step with them.

A deal names one account (``deals.account_id``) and any number of contacts
(``deal_contacts``), at most one of them primary. The deal's text columns stay what every
query, filter, export and search reads: ``deals.account`` is its account's name and
``deals.contact_name``/``contact_email``/``contact_phone`` are its primary contact's details.
Every change goes through this module, which keeps them in step through ``store.deals``
(``set_fields``: each change of a deal's text a field event, its version bumped):

- a name typed on a deal (``add --account``, ``edit``, an import) finds the account with the
  same key (``core.names.name_key``: ``acme`` is ``Acme``) or creates it, and the deal gets
  the account's own spelling;
- a contact typed on a deal finds the same person (``core.names.same_contact``: the same
  email address, or the same name at the same account when either has none, and no other
  phone number) or creates one, and it becomes the deal's primary contact;
- renaming or merging an account, editing or merging a contact rewrites the text of every
  deal that names it.

Similar records (``ACME Inc.`` beside ``Acme``) are never merged here: ``suggest_*`` lists
them for a note. Plain SQL on either engine; every table here is in the change journal, so
``undo`` reverses any of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipectl.core.names import (
    base_key,
    email_key,
    name_key,
    same_contact,
    similar_accounts,
    similar_contact,
)
from pipectl.errors import Ambiguous, Conflict, InputError, NotFound
from pipectl.store.engine import Database

#: The longest account name, contact name, email and phone (the deal fields' caps).
MAX_ACCOUNT, MAX_NAME, MAX_EMAIL, MAX_PHONE = 300, 200, 254, 50


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    key: str
    created_at: Any


@dataclass(frozen=True)
class ContactRow:
    id: int
    account_id: int | None
    account: str | None
    name: str | None
    email: str | None
    phone: str | None
    created_at: Any

    @property
    def label(self) -> str:
        return self.name or self.email or self.phone or f"#{self.id}"

    def match(self) -> tuple[str, str, int | None]:
        return (name_key(self.name), email_key(self.email), self.account_id)


#: What each record text is on a deal (its cap and label: ``core.fields``).
_FIELD = {
    "account name": "account",
    "contact name": "contact_name",
    "email": "contact_email",
    "phone": "contact_phone",
    "owner": "owner",
}


def _text(value: str | None, what: str, cap: int) -> str | None:
    """Whitespace folded; longer than the deal field it is kept in step with: refused with
    that field's message."""
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    if what in _FIELD:
        from pipectl.core.fields import BY_NAME

        BY_NAME[_FIELD[what]].check(value)
    if len(value) > cap:
        raise InputError(f"{what} too long: {len(value)} characters (at most {cap})")
    return value


def account_key(name: str) -> str:
    key = name_key(name)
    if not key:
        raise InputError(f"not an account name: {name!r} (it needs a letter or digit)")
    return key


# --- reading ----------------------------------------------------------------------------------

_ACCOUNT = "SELECT a.id, a.name, a.key, a.created_at FROM accounts a"
_CONTACT = (
    "SELECT c.id, c.account_id, a.name, c.name, c.email, c.phone, c.created_at"
    " FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id"
)


def get_account(db: Database, account_id: int) -> AccountRow:
    row = db.execute(f"{_ACCOUNT} WHERE a.id = ?", (account_id,)).fetchone()
    if row is None:
        raise NotFound(f"no account #{account_id}")
    return AccountRow(*row)


def get_contact(db: Database, contact_id: int) -> ContactRow:
    row = db.execute(f"{_CONTACT} WHERE c.id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound(f"no contact #{contact_id}")
    return ContactRow(*row)


def _number(text: str) -> int | None:
    from pipectl.store.queries import id_number

    return id_number(text)


def resolve_account(db: Database, ref: str) -> int:
    """An account by id (``12``, ``#12``), by name (any case or punctuation), or by the
    unique account whose name starts with, else contains, ``ref``."""
    text = ref.strip()
    if not text:
        raise InputError("empty account reference")
    number = _number(text)
    if number is not None:
        return get_account(db, number).id
    key = name_key(text)
    if not key:
        raise InputError(f"not an account name: {ref!r}")
    row = db.execute("SELECT id FROM accounts WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return int(row[0])
    from pipectl.store.rules import like

    for match in ("prefix", "contains"):
        cond, pattern = like("key", key, match, ignore_case=False)
        rows = db.execute(
            f"SELECT id, name FROM accounts WHERE {cond} ORDER BY id LIMIT 21", (pattern,)
        ).fetchall()
        if len(rows) == 1:
            return int(rows[0][0])
        if rows:
            shown = "; ".join(f"#{i} {n}" for i, n in rows[:8]) + ("; …" if len(rows) > 8 else "")
            raise Ambiguous(f"{ref!r} matches {len(rows)} accounts: {shown}")
    raise NotFound(f"no account matches {ref!r}")


def resolve_contact(db: Database, ref: str) -> int:
    """A contact by id, by email address (any case), by name (any case or punctuation), or
    by the unique contact whose name starts with, else contains, ``ref``."""
    text = ref.strip()
    if not text:
        raise InputError("empty contact reference")
    number = _number(text)
    if number is not None:
        return get_contact(db, number).id
    if "@" in text:
        rows = db.execute(
            "SELECT id FROM contacts WHERE lower(email) = ? ORDER BY id", (email_key(text),)
        ).fetchall()
        if len(rows) == 1:
            return int(rows[0][0])
    key = name_key(text)
    if not key:
        raise InputError(f"not a contact name: {ref!r}")
    from pipectl.store.rules import like

    for match in ("exact", "prefix", "contains"):
        cond, pattern = like("c.key", key, match, ignore_case=False)
        rows = db.execute(
            f"SELECT c.id, c.name, c.email, a.name FROM contacts c"
            f" LEFT JOIN accounts a ON a.id = c.account_id WHERE {cond} ORDER BY c.id LIMIT 21",
            (pattern,),
        ).fetchall()
        if len(rows) == 1:
            return int(rows[0][0])
        if rows:
            shown = "; ".join(
                f"#{i} {n or e}" + (f" ({a})" if a else "") for i, n, e, a in rows[:8]
            ) + ("; …" if len(rows) > 8 else "")
            raise Ambiguous(f"{ref!r} matches {len(rows)} contacts: {shown}")
    raise NotFound(f"no contact matches {ref!r}")


def list_accounts(db: Database) -> list[dict[str, Any]]:
    """Every account with its number of deals (open, all) and contacts, by name."""
    rows = db.execute(
        "SELECT a.id, a.name,"
        " (SELECT count(*) FROM deals d WHERE d.account_id = a.id AND d.status = 'open'),"
        " (SELECT count(*) FROM deals d WHERE d.account_id = a.id),"
        " (SELECT count(*) FROM contacts c WHERE c.account_id = a.id)"
        " FROM accounts a ORDER BY a.key, a.id"
    ).fetchall()
    return [
        {"id": r[0], "name": r[1], "open_deals": r[2], "deals": r[3], "contacts": r[4]}
        for r in rows
    ]


def list_contacts(db: Database, account_id: int | None = None) -> list[ContactRow]:
    where, params = ("", ()) if account_id is None else (" WHERE c.account_id = ?", (account_id,))
    rows = db.execute(f"{_CONTACT}{where} ORDER BY c.key, c.id", params).fetchall()
    return [ContactRow(*r) for r in rows]


def deal_counts(db: Database, contact_ids: Sequence[int]) -> dict[int, int]:
    if not contact_ids:
        return {}
    marks = ",".join("?" * len(contact_ids))
    return {
        int(c): int(n)
        for c, n in db.execute(
            f"SELECT contact_id, count(*) FROM deal_contacts WHERE contact_id IN ({marks})"
            " GROUP BY contact_id",
            list(contact_ids),
        )
    }


def account_deals(db: Database, account_id: int) -> list[tuple[Any, ...]]:
    """(id, title, stage, status, value_minor, currency, expected_close, closed_at) of the
    account's deals: open first, then the latest closed."""
    return db.execute(
        "SELECT d.id, d.title, s.name, d.status, d.value_minor, d.currency, d.expected_close,"
        " d.closed_at FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.account_id = ?"
        " ORDER BY CASE WHEN d.status = 'open' THEN 0 ELSE 1 END, d.closed_at DESC, d.id",
        (account_id,),
    ).fetchall()


def account_activities(db: Database, account_id: int, limit: int) -> list[tuple[Any, ...]]:
    """(id, deal id, deal title, kind, at, text) of the latest activities on its deals."""
    return db.execute(
        "SELECT a.id, a.deal_id, d.title, a.kind, a.at, a.text FROM activities a"
        " JOIN deals d ON d.id = a.deal_id WHERE d.account_id = ?"
        " ORDER BY a.at DESC, a.id DESC LIMIT ?",
        (account_id, limit),
    ).fetchall()


def contact_deals(db: Database, contact_id: int) -> list[tuple[Any, ...]]:
    """(id, title, stage, status, value_minor, currency, is_primary) of a contact's deals."""
    return db.execute(
        "SELECT d.id, d.title, s.name, d.status, d.value_minor, d.currency, dc.is_primary"
        " FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id"
        " JOIN stages s ON s.id = d.stage_id WHERE dc.contact_id = ?"
        " ORDER BY CASE WHEN d.status = 'open' THEN 0 ELSE 1 END, d.id",
        (contact_id,),
    ).fetchall()


def deal_contacts(db: Database, deal_id: int) -> list[tuple[ContactRow, bool]]:
    """A deal's contacts, the primary first."""
    rows = db.execute(
        "SELECT c.id, c.account_id, a.name, c.name, c.email, c.phone, c.created_at,"
        " dc.is_primary FROM deal_contacts dc JOIN contacts c ON c.id = dc.contact_id"
        " LEFT JOIN accounts a ON a.id = c.account_id WHERE dc.deal_id = ?"
        " ORDER BY dc.is_primary DESC, dc.id",
        (deal_id,),
    ).fetchall()
    return [(ContactRow(*r[:7]), bool(r[7])) for r in rows]


def primary_of(db: Database, deal_id: int) -> int | None:
    row = db.execute(
        "SELECT contact_id FROM deal_contacts WHERE deal_id = ? AND is_primary = 1", (deal_id,)
    ).fetchone()
    return None if row is None else int(row[0])


# --- suggestions ------------------------------------------------------------------------------


def suggest_accounts(db: Database, account_ids: Iterable[int]) -> list[tuple[str, str]]:
    """(this account's name, a similar account's name) for each of ``account_ids`` that has a
    similar account (``core.names.similar_accounts``): merges to suggest, never to make. One
    suggestion per account, into the oldest similar one, and each pair once (an import of
    many look-alikes gets a list as long as the accounts, not their square)."""
    out: list[tuple[str, str]] = []
    ids = sorted(set(account_ids))
    if not ids:
        return out
    everyone = [(int(i), k, n) for i, k, n in db.execute("SELECT id, key, name FROM accounts")]
    by_base: dict[str, list[tuple[int, str, str]]] = {}
    for row in everyone:
        by_base.setdefault(base_key(row[1]), []).append(row)
    names = {i: (k, n) for i, k, n in everyone}
    seen: set[frozenset[int]] = set()
    for i in ids:
        if i not in names:
            continue
        key, name = names[i]
        pool = [(j, k) for j, k, _ in by_base.get(base_key(key), [])]
        similar = sorted(similar_accounts(key, pool))
        if similar and frozenset((i, similar[0])) not in seen:
            seen.add(frozenset((i, similar[0])))
            out.append((name, names[similar[0]][1]))
    return out


def suggest_contacts(db: Database, contact_ids: Iterable[int]) -> list[tuple[str, str]]:
    """(this contact, a similar contact) for each of ``contact_ids`` that has one: the same
    name with another email address or at another account. One suggestion per contact, the
    oldest such one, each pair once."""
    out: list[tuple[str, str]] = []
    seen: set[frozenset[int]] = set()
    for cid in sorted(set(contact_ids)):
        try:
            me = get_contact(db, cid)
        except NotFound:
            continue
        key = name_key(me.name)
        if not key:
            continue
        for r in db.execute(f"{_CONTACT} WHERE c.key = ? AND c.id != ? ORDER BY c.id", (key, cid)):
            other = ContactRow(*r)
            if similar_contact(me.match(), other.match()):
                if frozenset((cid, other.id)) not in seen:
                    seen.add(frozenset((cid, other.id)))
                    out.append((_ref(me), _ref(other)))
                break
    return out


def _ref(c: ContactRow) -> str:
    """How a note names a contact so that ``contact merge`` finds exactly it."""
    return c.email or f"#{c.id}"


# --- accounts ---------------------------------------------------------------------------------


def ensure_account(db: Database, name: str, now: datetime) -> tuple[int, str, bool]:
    """The account named ``name`` (any case or punctuation), created if there is none:
    (id, its name as stored, whether it was created now)."""
    clean = _text(name, "account name", MAX_ACCOUNT)
    if clean is None:
        raise InputError("the account name cannot be empty")
    key = account_key(clean)
    row = db.execute("SELECT id, name FROM accounts WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return int(row[0]), row[1], False
    new = db.execute(
        "INSERT INTO accounts (name, key, created_at) VALUES (?, ?, ?) RETURNING id",
        (clean, key, now),
    ).fetchone()[0]
    return int(new), clean, True


def _deals_of_account(db: Database, account_id: int) -> list[int]:
    return [int(r[0]) for r in db.execute(
        "SELECT id FROM deals WHERE account_id = ? ORDER BY id", (account_id,)
    )]  # fmt: skip


def _set_deal(db: Database, deal_id: int, changes: dict[str, Any], at: datetime, note: str) -> None:
    """A deal's text brought in step with a record: a field event per change (not a touch)."""
    from pipectl.store.deals import set_fields

    set_fields(db, deal_id, changes, at, touch=False, note=note)


def rename_account(db: Database, account_id: int, name: str, at: datetime) -> list[int]:
    """Rename an account (refused when another account has the new name's key: merge them
    instead); every deal naming it gets the new name. Returns the deals changed."""
    current = get_account(db, account_id)
    clean = _text(name, "account name", MAX_ACCOUNT)
    if clean is None:
        raise InputError("the account name cannot be empty")
    key = account_key(clean)
    other = db.execute(
        "SELECT id, name FROM accounts WHERE key = ? AND id != ?", (key, account_id)
    ).fetchone()
    if other is not None:
        raise Conflict(
            f"account #{other[0]} is already called {other[1]!r}: merge them instead"
            f" (pipectl account merge {current.id} {other[0]})"
        )
    if clean == current.name:
        return []
    db.execute("UPDATE accounts SET name = ?, key = ? WHERE id = ?", (clean, key, account_id))
    deals = _deals_of_account(db, account_id)
    for deal_id in deals:
        _set_deal(db, deal_id, {"account": clean}, at, f"account renamed from {current.name!r}")
    return deals


@dataclass
class Merged:
    deals: list[int] = field(default_factory=list)
    contacts: int = 0
    filled: list[str] = field(default_factory=list)


def merge_accounts(db: Database, dup: int, into: int, at: datetime) -> Merged:
    """Join account ``dup`` into ``into``: its deals and contacts move (each deal's account
    text becomes ``into``'s name, a field event), and ``dup`` is removed."""
    if dup == into:
        raise InputError(f"cannot merge account #{dup} into itself")
    a, b = get_account(db, dup), get_account(db, into)
    out = Merged()
    out.deals = _deals_of_account(db, dup)
    note = f"account {a.name!r} merged into {b.name!r}"
    for deal_id in out.deals:
        _set_deal(db, deal_id, {"account": b.name}, at, note)
    db.execute("UPDATE deals SET account_id = ? WHERE account_id = ?", (into, dup))
    out.contacts = int(
        db.execute("UPDATE contacts SET account_id = ? WHERE account_id = ?", (into, dup)).rowcount
    )
    db.execute("DELETE FROM accounts WHERE id = ?", (dup,))
    return out


def deal_account(db: Database, deal_id: int) -> int | None:
    """The account record a deal names, if any."""
    row = db.execute("SELECT account_id FROM deals WHERE id = ?", (deal_id,)).fetchone()
    return row[0] if row else None


def contact_with_email(db: Database, email: str, besides: int) -> int | None:
    """Another contact (not ``besides``) with this email address, in any case."""
    row = db.execute(
        "SELECT id FROM contacts WHERE lower(email) = lower(?) AND id != ? ORDER BY id",
        (email, besides),
    ).fetchone()
    return int(row[0]) if row else None


def set_deal_account(db: Database, deal_id: int, account_id: int | None) -> None:
    """Link a deal to its account record (its ``account`` text is set by the caller)."""
    db.execute("UPDATE deals SET account_id = ? WHERE id = ?", (account_id, deal_id))


# --- contacts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactInput:
    """A contact as typed: any of name, email and phone (at least one)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None

    def cleaned(self) -> ContactInput:
        from pipectl.core.contacts import validate_email

        email = _text(self.email, "email", MAX_EMAIL)
        return ContactInput(
            _text(self.name, "contact name", MAX_NAME),
            validate_email(email) if email else None,
            _text(self.phone, "phone", MAX_PHONE),
        )

    @property
    def empty(self) -> bool:
        return not (self.name or self.email or self.phone)


def _compatible(c: ContactRow, new: ContactInput) -> bool:
    """Not two people: no different phone numbers (on the same email, or the same name)."""
    return not (c.phone and new.phone and c.phone != new.phone)


def find_contact(db: Database, new: ContactInput, account_id: int | None) -> ContactRow | None:
    """The contact ``new`` is (``core.names.same_contact``), or None."""
    me = (name_key(new.name), email_key(new.email), account_id)
    if new.email:
        rows = db.execute(f"{_CONTACT} WHERE lower(c.email) = ? ORDER BY c.id", (me[1],))
        for r in rows:
            c = ContactRow(*r)
            if _compatible(c, new):
                return c
    if me[0]:
        rows = db.execute(
            f"{_CONTACT} WHERE c.key = ? AND COALESCE(c.account_id, 0) = ? ORDER BY c.id",
            (me[0], account_id or 0),
        )
        for r in rows:
            c = ContactRow(*r)
            if same_contact(me, c.match()) and _compatible(c, new):
                return c
    return None


def create_contact(db: Database, new: ContactInput, account_id: int | None, now: datetime) -> int:
    return int(
        db.execute(
            "INSERT INTO contacts (account_id, name, email, phone, key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (account_id, new.name, new.email, new.phone, name_key(new.name), now),
        ).fetchone()[0]
    )


def ensure_contact(
    db: Database, new: ContactInput, account_id: int | None, now: datetime, *, fill: bool = True
) -> tuple[int, bool]:
    """The contact ``new`` is, created if none: (id, whether created now). ``fill``: an
    existing contact gets what it lacks (a name, email, phone or account) from ``new``, and
    the deals it is the primary contact of follow."""
    new = new.cleaned()
    if new.empty:
        raise InputError("a contact needs a name, an email or a phone")
    found = find_contact(db, new, account_id)
    if found is None:
        return create_contact(db, new, account_id, now), True
    if fill:
        changes: dict[str, Any] = {}
        for col in ("name", "email", "phone"):
            if getattr(found, col) is None and getattr(new, col) is not None:
                changes[col] = getattr(new, col)
        if found.account_id is None and account_id is not None:
            changes["account_id"] = account_id
        if changes:
            update_contact(db, found.id, changes, now, note="contact details filled in")
    return found.id, False


def update_contact(
    db: Database, contact_id: int, changes: dict[str, Any], at: datetime, *, note: str
) -> list[int]:
    """Change a contact's name, email, phone or account; the deals it is the primary contact
    of get its details (field events). Returns those deals."""
    if not changes:
        return []
    if "name" in changes:
        changes["key"] = name_key(changes["name"])
    sets = ", ".join(f"{c} = ?" for c in changes)
    db.execute(f"UPDATE contacts SET {sets} WHERE id = ?", (*changes.values(), contact_id))
    c = get_contact(db, contact_id)
    if not (c.name or c.email or c.phone):
        raise InputError("a contact needs a name, an email or a phone")
    deals = [int(r[0]) for r in db.execute(
        "SELECT deal_id FROM deal_contacts WHERE contact_id = ? AND is_primary = 1"
        " ORDER BY deal_id", (contact_id,),
    )]  # fmt: skip
    for deal_id in deals:
        _set_deal(db, deal_id, mirror(c), at, note)
    return deals


def mirror(c: ContactRow | None) -> dict[str, Any]:
    """A deal's contact columns for its primary contact ``c`` (all empty for none)."""
    if c is None:
        return {"contact_name": None, "contact_email": None, "contact_phone": None}
    return {"contact_name": c.name, "contact_email": c.email, "contact_phone": c.phone}


def attach(db: Database, deal_id: int, contact_id: int, *, primary: bool) -> bool:
    """Put a contact on a deal (``primary``: as its primary contact, the previous primary
    staying on as another contact). The caller brings the deal's text in step. Returns
    whether anything changed."""
    row = db.execute(
        "SELECT id, is_primary FROM deal_contacts WHERE deal_id = ? AND contact_id = ?",
        (deal_id, contact_id),
    ).fetchone()
    if row is not None and (row[1] or not primary):
        return False
    if primary:
        db.execute(
            "UPDATE deal_contacts SET is_primary = 0 WHERE deal_id = ? AND is_primary = 1",
            (deal_id,),
        )
    if row is None:
        db.execute(
            "INSERT INTO deal_contacts (deal_id, contact_id, is_primary) VALUES (?, ?, ?)",
            (deal_id, contact_id, 1 if primary else 0),
        )
    else:
        db.execute("UPDATE deal_contacts SET is_primary = 1 WHERE id = ?", (row[0],))
    return True


def detach(db: Database, deal_id: int, contact_id: int) -> None:
    db.execute(
        "DELETE FROM deal_contacts WHERE deal_id = ? AND contact_id = ?", (deal_id, contact_id)
    )


def set_primary(
    db: Database, deal_id: int, contact_id: int | None, at: datetime, note: str | None = None
) -> None:
    """Make ``contact_id`` the deal's primary contact, replacing the current one (which
    leaves the deal); None: the deal has no primary contact. The deal's contact text follows."""
    current = primary_of(db, deal_id)
    if current is not None and current != contact_id:
        detach(db, deal_id, current)
    if contact_id is not None:
        attach(db, deal_id, contact_id, primary=True)
    c = get_contact(db, contact_id) if contact_id is not None else None
    _set_deal(db, deal_id, mirror(c), at, note or "primary contact")


def merge_contacts(db: Database, dup: int, into: int, at: datetime) -> Merged:
    """Join contact ``dup`` into ``into``: ``into`` gets what it lacks of ``dup``'s details
    (name, email, phone, account), ``dup``'s deals become ``into``'s (primary where ``dup``
    was), and ``dup`` is removed. Every deal it changes the primary contact of follows."""
    if dup == into:
        raise InputError(f"cannot merge contact #{dup} into itself")
    a, b = get_contact(db, dup), get_contact(db, into)
    out = Merged()
    fill: dict[str, Any] = {}
    for col in ("name", "email", "phone", "account_id"):
        if getattr(b, col) is None and getattr(a, col) is not None:
            fill[col] = getattr(a, col)
    out.filled = [c for c in fill if c != "account_id"] + (
        ["account"] if "account_id" in fill else []
    )
    rows = db.execute(
        "SELECT id, deal_id, is_primary FROM deal_contacts WHERE contact_id = ? ORDER BY id",
        (dup,),
    ).fetchall()
    for row_id, deal_id, is_primary in rows:
        mine = db.execute(
            "SELECT id FROM deal_contacts WHERE deal_id = ? AND contact_id = ?", (deal_id, into)
        ).fetchone()
        if mine is None:
            db.execute("UPDATE deal_contacts SET contact_id = ? WHERE id = ?", (into, row_id))
        else:
            db.execute("DELETE FROM deal_contacts WHERE id = ?", (row_id,))
            if is_primary:
                db.execute("UPDATE deal_contacts SET is_primary = 1 WHERE id = ?", (mine[0],))
        out.deals.append(int(deal_id))
    db.execute("DELETE FROM contacts WHERE id = ?", (dup,))
    note = f"contact {a.label!r} merged into {b.label!r}"
    if fill:
        db.execute(
            f"UPDATE contacts SET {', '.join(f'{c} = ?' for c in fill)}"
            + (", key = ?" if "name" in fill else "")
            + " WHERE id = ?",
            (*fill.values(), *([name_key(fill["name"])] if "name" in fill else []), into),
        )
    c = get_contact(db, into)
    for deal_id in [int(r[0]) for r in db.execute(
        "SELECT deal_id FROM deal_contacts WHERE contact_id = ? AND is_primary = 1", (into,)
    )]:  # fmt: skip
        _set_deal(db, deal_id, mirror(c), at, note)
    out.contacts = 1
    return out


# --- linking deals to records in bulk: imports, uploads, the migration -----------------------


@dataclass
class Linked:
    accounts: list[int] = field(default_factory=list)  # created
    contacts: list[int] = field(default_factory=list)  # created
    deals: int = 0  # deals linked


def relink(
    db: Database, deal_ids: Sequence[int] | None, at: datetime, note: str = "linked to records"
) -> Linked:
    """Link deals (``None``: every deal) to the records their text names, creating those
    missing, by the matching rules; a deal whose text differs from its record's (``acme``
    for the account ``Acme``) gets the record's, a field event. A deal already linked to a
    primary contact keeps it. Used where deals are written in bulk (import, team upload)
    and by the migration that made the records: the records are read once and matched in
    memory, the links written with one statement per table."""
    out = Linked()
    cols = "id, account, account_id, contact_name, contact_email, contact_phone"
    if deal_ids is None:
        rows = db.execute(f"SELECT {cols} FROM deals ORDER BY id").fetchall()
    else:
        rows = []
        ids = sorted(set(deal_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows += db.execute(
                f"SELECT {cols} FROM deals WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            ).fetchall()
    if not rows:
        return out
    accounts = {k: (int(i), n) for i, k, n in db.execute("SELECT id, key, name FROM accounts")}
    primaries = {int(r[0]) for r in db.execute(
        "SELECT deal_id FROM deal_contacts WHERE is_primary = 1"
    )}  # fmt: skip
    contacts: dict[int, ContactRow] = {
        int(r[0]): ContactRow(*r) for r in db.execute(f"{_CONTACT} ORDER BY c.id")
    }
    by_email: dict[str, list[int]] = {}
    by_name: dict[tuple[str, int], list[int]] = {}

    def index(c: ContactRow) -> None:
        if c.email:
            by_email.setdefault(email_key(c.email), []).append(c.id)
        key = name_key(c.name)
        if key:
            by_name.setdefault((key, c.account_id or 0), []).append(c.id)

    for c in contacts.values():
        index(c)

    def find(typed: ContactInput, acc: int | None) -> ContactRow | None:
        me = (name_key(typed.name), email_key(typed.email), acc)
        for cid in by_email.get(me[1], []) if me[1] else []:
            if _compatible(contacts[cid], typed):
                return contacts[cid]
        for cid in by_name.get((me[0], acc or 0), []) if me[0] else []:
            c = contacts[cid]
            if same_contact(me, c.match()) and _compatible(c, typed):
                return c
        return None

    links: list[tuple[int | None, int]] = []
    attached: list[tuple[int, int]] = []
    filled: dict[int, dict[str, Any]] = {}
    fixes: list[tuple[int, dict[str, Any]]] = []
    for deal_id, account, account_id, c_name, c_email, c_phone in rows:
        changes: dict[str, Any] = {}
        acc: int | None = None
        key = name_key(account)
        if key:
            if key not in accounts:
                clean = _text(account, "account name", MAX_ACCOUNT) or account
                new = db.execute(
                    "INSERT INTO accounts (name, key, created_at) VALUES (?, ?, ?) RETURNING id",
                    (clean, key, at),
                ).fetchone()[0]
                accounts[key] = (int(new), clean)
                out.accounts.append(int(new))
            acc, name = accounts[key]
            if name != account:
                changes["account"] = name
        if acc != account_id:
            links.append((acc, deal_id))
        typed = ContactInput(c_name, c_email, c_phone)
        if deal_id not in primaries and not typed.empty:
            try:
                typed = typed.cleaned()
            except InputError:
                typed = ContactInput(c_name, None, c_phone).cleaned()  # an unreadable email
            found = find(typed, acc) if not typed.empty else None
            if typed.empty:
                pass
            elif found is None:
                cid = create_contact(db, typed, acc, at)
                contacts[cid] = ContactRow(cid, acc, None, typed.name, typed.email, typed.phone, at)
                index(contacts[cid])
                out.contacts.append(cid)
                found = contacts[cid]
            else:
                fill = {
                    col: getattr(typed, col)
                    for col in ("name", "email", "phone")
                    if getattr(found, col) is None and getattr(typed, col) is not None
                }
                if fill:
                    filled.setdefault(found.id, {}).update(fill)
                    found = ContactRow(
                        found.id,
                        found.account_id,
                        found.account,
                        fill.get("name", found.name),
                        fill.get("email", found.email),
                        fill.get("phone", found.phone),
                        found.created_at,
                    )
                    contacts[found.id] = found
                    index(found)
            if found is not None:
                attached.append((deal_id, found.id))
                primaries.add(deal_id)
                now_text = {"contact_name": c_name, "contact_email": c_email,
                            "contact_phone": c_phone}  # fmt: skip
                for col, value in mirror(found).items():
                    if value != now_text[col]:
                        changes[col] = value
        if changes:
            fixes.append((deal_id, changes))
        out.deals += 1
    if links:
        db.executemany("UPDATE deals SET account_id = ? WHERE id = ?", links)
    if attached:
        db.executemany(
            "INSERT INTO deal_contacts (deal_id, contact_id, is_primary) VALUES (?, ?, 1)",
            attached,
        )
    for cid, fill in filled.items():  # the deals it was already primary of follow
        update_contact(db, cid, fill, at, note=note)
    for deal_id, changes in fixes:
        _set_deal(db, deal_id, changes, at, note)
    return out


def unlink_deal(db: Database, deal_id: int) -> None:
    """Before a deal is deleted: its contacts leave it (the records stay)."""
    db.execute("DELETE FROM deal_contacts WHERE deal_id = ?", (deal_id,))


def move_deal_contacts(db: Database, dup: int, into: int) -> None:
    """A deal merged into another: its contacts join that deal (as others: the survivor's
    primary stays), those already on it once."""
    db.execute(
        "DELETE FROM deal_contacts WHERE deal_id = ? AND contact_id IN"
        " (SELECT contact_id FROM deal_contacts WHERE deal_id = ?)",
        (dup, into),
    )
    has_primary = primary_of(db, into) is not None
    db.execute(
        "UPDATE deal_contacts SET deal_id = ?, is_primary = CASE WHEN ? THEN 0 ELSE is_primary"
        " END WHERE deal_id = ?",
        (into, has_primary, dup),
    )


# --- owners (a file's list; a team's owners are its database roles) -------------------------


def owners(db: Database) -> list[tuple[int, str]]:
    return [(int(i), n) for i, n in db.execute("SELECT id, name FROM owners ORDER BY key, id")]


def add_owner(db: Database, name: str, now: datetime) -> tuple[str, bool]:
    """Put ``name`` on the owners list: (its name on the list, whether it was added now; a
    name with the same key is the one already there)."""
    clean = _text(name, "owner", 100)
    key = name_key(clean)
    if clean is None or not key:
        raise InputError(f"not an owner's name: {name!r}")
    row = db.execute("SELECT name FROM owners WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return row[0], False
    db.execute("INSERT INTO owners (name, key, created_at) VALUES (?, ?, ?)", (clean, key, now))
    return clean, True


def remove_owner(db: Database, name: str) -> str:
    key = name_key(name)
    row = db.execute("SELECT id, name FROM owners WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise NotFound(f"no owner {name!r} on the list")
    db.execute("DELETE FROM owners WHERE id = ?", (row[0],))
    return str(row[1])


def owner_named(db: Database, name: str) -> str | None:
    """The owner on the list with ``name``'s key, or None."""
    row = db.execute("SELECT name FROM owners WHERE key = ?", (name_key(name),)).fetchone()
    return None if row is None else str(row[0])


def migrate_free_text(db: Database) -> None:
    """The migration's data step (either engine): every deal linked to the account and
    contact records its text names (created as needed), and on a file the deal owners put
    on the owners list, one per key (``sam`` and ``Sam`` are one; a deal's owner text takes
    the list's spelling, a field event)."""
    from datetime import UTC

    now = datetime.now(UTC)
    relink(db, None, now, note="accounts and contacts became records")
    if db.kind == "postgresql":
        return
    names: dict[str, str] = {}
    for owner, _n in db.execute(
        "SELECT owner, count(*) FROM deals WHERE owner IS NOT NULL GROUP BY owner"
        " ORDER BY count(*) DESC, owner"
    ).fetchall():
        key = name_key(owner)
        if key and key not in names:
            names[key] = add_owner(db, owner, now)[0]
    for deal_id, owner in db.execute(
        "SELECT id, owner FROM deals WHERE owner IS NOT NULL ORDER BY id"
    ).fetchall():
        canonical = names.get(name_key(owner))
        if canonical is not None and canonical != owner:
            _set_deal(db, deal_id, {"owner": canonical}, now, "one spelling per owner")


# --- the deal write path's hooks (services/deals.py: add and edit) -------------------------


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def account_notes(db: Database, account_ids: Iterable[int]) -> list[str]:
    """A note per similar account: the merge to run if they are one."""
    return [
        f"account {name!r} is like {other!r}; if they are one:"
        f" pipectl account merge {_quote(name)} {_quote(other)}"
        for name, other in suggest_accounts(db, account_ids)
    ]


def contact_notes(db: Database, contact_ids: Iterable[int]) -> list[str]:
    return [
        f"contact {me} is like contact {other} (same name); if they are one:"
        f" pipectl contact merge {_quote(me)} {_quote(other)}"
        for me, other in suggest_contacts(db, contact_ids)
    ]


def ensure_contact_details(
    db: Database,
    typed: ContactInput,
    account_id: int | None,
    now: datetime,
    *,
    fill: bool = True,
) -> tuple[int, bool, dict[str, Any], dict[str, Any]]:
    """``ensure_contact`` for a deal being written: (id, whether created, the deal's contact
    columns for it, the details an existing contact lacks and gets from ``typed``). With
    ``fill`` those are written now, else left to the caller (``update_contact``)."""
    typed = typed.cleaned()
    if typed.empty:
        raise InputError("a contact needs a name, an email or a phone")
    found = find_contact(db, typed, account_id)
    if found is None:
        cid = create_contact(db, typed, account_id, now)
        return cid, True, mirror(ContactRow(cid, account_id, None, typed.name, typed.email,
                                            typed.phone, now)), {}  # fmt: skip
    extra = {
        col: getattr(typed, col)
        for col in ("name", "email", "phone")
        if getattr(found, col) is None and getattr(typed, col) is not None
    }
    if found.account_id is None and account_id is not None:
        extra["account_id"] = account_id
    details = {
        "contact_name": extra.get("name", found.name),
        "contact_email": extra.get("email", found.email),
        "contact_phone": extra.get("phone", found.phone),
    }
    if fill and extra:
        update_contact(db, found.id, dict(extra), now, note="contact details filled in")
        extra = {}
    return found.id, False, details, extra


def attach_new(db: Database, deal_id: int, contact_id: int) -> None:
    """A deal just created: its primary contact."""
    db.execute(
        "INSERT INTO deal_contacts (deal_id, contact_id, is_primary) VALUES (?, ?, 1)",
        (deal_id, contact_id),
    )


_CONTACT_COLUMNS = ("contact_name", "contact_email", "contact_phone")


def edit_links(
    db: Database, deal_id: int, cleaned: dict[str, Any], now: datetime, notes: list[str] | None
) -> Any:
    """``edit``'s account and contact changes (in ``cleaned``, the deal's field changes) as
    records, before the deal's fields are set: the account found or created (``cleaned`` gets
    its spelling); ``--contact`` finds or creates the contact, which replaces the deal's
    primary contact; ``--email``/``--phone`` alone change the primary contact's own details
    (every deal it is the primary contact of follows); clearing the contact takes the
    primary contact off the deal. Returns what to do once the fields are set."""
    post: list[Any] = []
    row = db.execute("SELECT account_id FROM deals WHERE id = ?", (deal_id,)).fetchone()
    if row is None:
        raise NotFound(f"no deal #{deal_id}")
    account_id = row[0]
    if "account" in cleaned:
        if cleaned["account"] is None:
            account_id = None
        else:
            account_id, cleaned["account"], made = ensure_account(db, cleaned["account"], now)
            if made and notes is not None:
                notes += account_notes(db, [account_id])
        post.append(lambda a=account_id: set_deal_account(db, deal_id, a))
    if set(_CONTACT_COLUMNS) & set(cleaned):
        primary = primary_of(db, deal_id)
        name_given = "contact_name" in cleaned
        if name_given and cleaned["contact_name"] is None and not cleaned.get("contact_email"):
            cleaned.update(mirror(None))  # the contact cleared: no primary contact
            if primary is not None:
                post.append(lambda: detach(db, deal_id, primary))
        elif name_given or primary is None:
            typed = ContactInput(
                cleaned.get("contact_name"),
                cleaned.get("contact_email"),
                cleaned.get("contact_phone"),
            )
            if typed.empty:
                cleaned.update(mirror(None))
            else:
                cid, made, details, extra = ensure_contact_details(
                    db, typed, account_id, now, fill=False
                )
                cleaned.update(details)
                if made and notes is not None:
                    notes += contact_notes(db, [cid])

                def replace(cid: int = cid, extra: dict[str, Any] = extra) -> None:
                    if primary is not None and primary != cid:
                        detach(db, deal_id, primary)
                    attach(db, deal_id, cid, primary=True)
                    if extra:
                        update_contact(db, cid, extra, now, note="contact details filled in")

                post.append(replace)
        else:  # --email / --phone / --clear email|phone: the primary contact's own details
            c = get_contact(db, primary)
            change = {
                col.removeprefix("contact_"): cleaned[col]
                for col in ("contact_email", "contact_phone")
                if col in cleaned
            }
            after = {"name": c.name, "email": c.email, "phone": c.phone, **change}
            if not any(after.values()):
                cleaned.update(mirror(None))
                post.append(lambda: detach(db, deal_id, primary))
            else:
                cleaned.update(
                    {"contact_name": c.name, **{f"contact_{k}": v for k, v in change.items()}}
                )
                post.append(lambda: update_contact(db, primary, change, now, note="contact edited"))

    def run() -> None:
        for step in post:
            step()

    return run


def resolve_owner(db: Database, name: str) -> str:
    """A deal owner as typed, checked against a file's owners list: the name on the list
    with the same key (``sam rep`` → ``Sam Rep``); a name not on it is refused, with the
    names it probably meant. An empty list accepts any name (pipelines that never set one
    up keep free-text owners). A team's owners are its roles: the server decides."""
    if db.kind == "postgresql":
        return name
    listed = [n for _, n in owners(db)]
    if not listed:
        return name
    key = name_key(name)
    for n in listed:
        if name_key(n) == key:
            return n
    from pipectl.core.names import close_names

    close = close_names(name, listed)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    raise InputError(
        f"no owner {name!r} on the owners list{hint}; add one with:"
        f" pipectl config owner add {_quote(name)}"
    )


# --- whole-pipeline export and import (services/bundle.py) ----------------------------------

#: The tables a whole export (``export --what all``) writes for the records, and their columns.
RECORD_TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "name"),
    "contacts": ("id", "name", "email", "phone", "account_id", "account"),
    "deal_contacts": ("deal_id", "contact_id", "primary"),
}


def export_records(db: Database, table: str) -> tuple[tuple[str, ...], Any]:
    """The header and rows of one of ``RECORD_TABLES``."""
    sql = {
        "accounts": "SELECT id, name FROM accounts ORDER BY id",
        "contacts": "SELECT c.id, c.name, c.email, c.phone, c.account_id, a.name FROM contacts c"
        " LEFT JOIN accounts a ON a.id = c.account_id ORDER BY c.id",
        "deal_contacts": "SELECT deal_id, contact_id, CASE WHEN is_primary = 1 THEN 'yes'"
        " ELSE '' END FROM deal_contacts ORDER BY deal_id, is_primary DESC, id",
    }[table]
    return RECORD_TABLES[table], iter(db.execute(sql).fetchall())


def read_records(book: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The record tables of a whole export (those present), as rows of text by column;
    checked: every column there, each id a number."""
    out: dict[str, list[dict[str, str]]] = {}
    for table, columns in RECORD_TABLES.items():
        sheet = book.get(table)
        if sheet is None:
            continue
        heads = [h.strip().lower() for h in sheet.headers]
        missing = [c for c in columns if c not in heads and c != "account"]
        if missing:
            raise InputError(f"the {table} table has no column {', '.join(missing)}")
        rows = []
        for n, raw in enumerate(sheet.rows, start=2):
            row = {c: (str(raw[heads.index(c)]).strip() if c in heads and heads.index(c) < len(raw)
                       and raw[heads.index(c)] is not None else "") for c in columns}  # fmt: skip
            for c in ("id", "deal_id", "contact_id", "account_id"):
                if c in row and row[c] and not row[c].isdigit():
                    raise InputError(f"{table} row {n}: {c} is not a number: {row[c]!r}")
            rows.append(row)
        out[table] = rows
    return out


def import_records(
    db: Database, records: dict[str, list[dict[str, str]]], here: dict[int, int], now: datetime
) -> None:
    """A whole export's records into this pipeline, by the matching rules (an account or
    contact already here is the same record); the contacts of the deals this import created
    (``here``: the file's deal id → the deal here) attached, the primary as the file has it."""
    account_ids: dict[str, int] = {}
    for row in records.get("accounts", []):
        if name_key(row["name"]):
            account_ids[row["id"]] = ensure_account(db, row["name"], now)[0]
    contact_ids: dict[str, int] = {}
    for row in records.get("contacts", []):
        typed = ContactInput(row["name"] or None, row["email"] or None, row["phone"] or None)
        if typed.empty:
            continue
        acc = account_ids.get(row["account_id"])
        if acc is None and row.get("account") and name_key(row["account"]):
            acc = ensure_account(db, row["account"], now)[0]
        contact_ids[row["id"]] = ensure_contact(db, typed, acc, now)[0]
    for row in records.get("deal_contacts", []):
        deal = here.get(int(row["deal_id"])) if row["deal_id"] else None
        contact = contact_ids.get(row["contact_id"])
        if deal is None or contact is None:
            continue
        primary = row["primary"].strip().lower() in ("yes", "1", "true", "primary")
        if primary and primary_of(db, deal) != contact:
            set_primary(db, deal, contact, now, note="imported")
        else:
            attach(db, deal, contact, primary=primary)


def prelink_accounts(db: Database, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """New deals' values (as ``store.deals.create_many`` takes them) linked to their account
    records before they are written: each gets ``account_id`` (None without an account) and
    its account's spelling, the account created when missing (read once, matched in memory).
    Returns the accounts created."""
    if not rows:
        return []
    accounts = {k: (int(i), n) for i, k, n in db.execute("SELECT id, key, name FROM accounts")}
    made: list[int] = []
    for values in rows:
        key = name_key(values.get("account"))
        if not key:
            values["account_id"] = None
            continue
        if key not in accounts:
            clean = _text(values["account"], "account name", MAX_ACCOUNT) or values["account"]
            new = db.execute(
                "INSERT INTO accounts (name, key, created_at) VALUES (?, ?, ?) RETURNING id",
                (clean, key, now),
            ).fetchone()[0]
            accounts[key] = (int(new), clean)
            made.append(int(new))
        values["account_id"], values["account"] = accounts[key]
    return made
