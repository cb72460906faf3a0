"""Accounts and contacts: ``pipectl account list|show|edit|merge``, ``pipectl contact
add|list|show|edit|merge``. Thin: parse, call ``services/accounts.py`` (over
``store/accounts.py``), render (``render/accounts.py``). Each command that writes is one
transaction, kept in the change journal (``pipectl undo`` reverses it)."""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt
from pipectl.errors import InputError

account_app = typer.Typer(
    help="Accounts (companies): list, show one with its deals, contacts and activities, "
    "rename, merge.",
    no_args_is_help=True,
)
contact_app = typer.Typer(
    help="Contacts (people): add (to a deal), list, show, edit, merge.", no_args_is_help=True
)

AccountArg = typer.Argument(
    ..., metavar="ACCOUNT", help="Account id, or its name (any case), or a unique part of it."
)
ContactArg = typer.Argument(
    ...,
    metavar="CONTACT",
    help="Contact id, email, or name (any case), or a unique part of the name.",
)


def _notes(notes: list[str]) -> None:
    for n in notes:
        common.note(n)


# --- account ----------------------------------------------------------------------------------


@account_app.command("list")
def account_list(as_json: bool = JsonOpt) -> None:
    """Every account, with its number of open deals, deals and contacts."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import account_list as listing

    with common.reading() as conn:
        rows = listing(conn)
    render.account_list(rows, output.pick_mode(as_json))


@account_app.command("show")
def account_show(ref: str = AccountArg, as_json: bool = JsonOpt) -> None:
    """An account: its deals (open and closed, totals per currency), contacts and latest
    activities."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import account_show as show
    from pipectl.store.accounts import resolve_account

    with common.reading() as conn:
        a = show(conn, resolve_account(conn, ref))
    render.account_show(a, output.pick_mode(as_json))


@account_app.command("edit")
def account_edit(
    ref: str = AccountArg,
    name: str = typer.Option(..., "--name", metavar="TEXT", help="The account's new name."),
    as_json: bool = JsonOpt,
) -> None:
    """Rename an account; its deals take the new name (each a change in their history)."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.store import accounts as store
    from pipectl.store.db import writing

    now = common.now()
    from pipectl.services.accounts import managers_only

    with writing(common.DB_PATH) as db:
        managers_only(db, "renaming an account")
        account_id = store.resolve_account(db, ref)
        deals = store.rename_account(db, account_id, name, now)
        a = store.get_account(db, account_id)
    render.done(
        {"id": a.id, "name": a.name, "deals": deals},
        f"account #{a.id} is now {a.name} ({len(deals)} deals renamed)",
        output.pick_mode(as_json),
    )


@account_app.command("merge")
def account_merge(
    dup: str = typer.Argument(..., metavar="ACCOUNT", help="The duplicate (it goes)."),
    into: str = typer.Argument(..., metavar="INTO", help="The account it joins (it stays)."),
    as_json: bool = JsonOpt,
) -> None:
    """Join a duplicate account into another: its deals and contacts move, it goes.
    'pipectl undo' reverses it."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.store import accounts as store
    from pipectl.store.db import writing

    now = common.now()
    from pipectl.services.accounts import managers_only

    with writing(common.DB_PATH) as db:
        managers_only(db, "merging accounts")
        a = store.get_account(db, store.resolve_account(db, dup))
        b = store.get_account(db, store.resolve_account(db, into))
        merged = store.merge_accounts(db, a.id, b.id, now)
    render.done(
        {
            "id": b.id,
            "name": b.name,
            "merged": {"id": a.id, "name": a.name},
            "deals": merged.deals,
            "contacts": merged.contacts,
        },
        f"merged account #{a.id} {a.name} into #{b.id} {b.name}:"
        f" {len(merged.deals)} deals, {merged.contacts} contacts moved",
        output.pick_mode(as_json),
    )


# --- contact ----------------------------------------------------------------------------------


@contact_app.command("add")
def contact_add(
    name: str = typer.Argument(
        ..., metavar="NAME", help="'Jane Doe', 'Jane Doe <jane@acme.com>' or an email."
    ),
    email: str | None = typer.Option(None, "--email", metavar="TEXT", help="Email address."),
    phone: str | None = typer.Option(None, "--phone", metavar="TEXT", help="Phone."),
    account: str | None = typer.Option(
        None,
        "--account",
        "-a",
        metavar="NAME",
        help="The account (found by name, else made; default: the deal's).",
    ),
    deal: str | None = typer.Option(
        None, "--deal", metavar="DEAL", help="Put the contact on this deal."
    ),
    primary: bool = typer.Option(
        False, "--primary", help="As the deal's primary contact (the first one always is)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Add a contact; one with the same email (or name, at the same account) is the same
    person and is reused, filled in with what it lacks."""
    from pipectl.core.contacts import parse_contact
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import add_contact
    from pipectl.store.accounts import ContactInput
    from pipectl.store.db import writing
    from pipectl.store.queries import resolve_deal

    parsed_name, parsed_email = parse_contact(name)
    if parsed_email and email and parsed_email.casefold() != email.strip().casefold():
        raise InputError("two email addresses: one in NAME, another in --email")
    typed = ContactInput(parsed_name, email or parsed_email, phone)
    now = common.now()
    with writing(common.DB_PATH) as db:
        deal_id = resolve_deal(db, deal) if deal is not None else None
        out = add_contact(db, typed, now, account=account, deal_id=deal_id, primary=primary)
    mode = output.pick_mode(as_json)
    if mode != output.JSON:
        _notes(out["notes"])
    what = "added" if out["created"] else "found"
    on = ""
    if deal_id is not None:
        on = f"; on deal {deal_id}" + (" as its primary contact" if out["primary"] else "")
    render.done(out, f"{what} contact #{out['id']} {out['name'] or out['email']}{on}", mode)


@contact_app.command("list")
def contact_list(
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="ACCOUNT", help="Only this account's contacts."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Every contact (or an account's), with its account and number of deals."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import contact_list as listing
    from pipectl.store.accounts import resolve_account

    with common.reading() as conn:
        account_id = resolve_account(conn, account) if account is not None else None
        rows = listing(conn, account_id)
    render.contact_list(rows, output.pick_mode(as_json))


@contact_app.command("show")
def contact_show(ref: str = ContactArg, as_json: bool = JsonOpt) -> None:
    """A contact: details, account and deals (which it is the primary contact of)."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import contact_show as show
    from pipectl.store.accounts import resolve_contact

    with common.reading() as conn:
        c = show(conn, resolve_contact(conn, ref))
    render.contact_show(c, output.pick_mode(as_json))


@contact_app.command("edit")
def contact_edit(
    ref: str = ContactArg,
    name: str | None = typer.Option(None, "--name", metavar="TEXT", help="New name."),
    email: str | None = typer.Option(None, "--email", metavar="TEXT", help="New email."),
    phone: str | None = typer.Option(None, "--phone", metavar="TEXT", help="New phone."),
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="NAME", help="New account ('' for none)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Change a contact; the deals it is the primary contact of follow (each a change in
    their history)."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import edit_contact, managers_only
    from pipectl.store.accounts import resolve_contact
    from pipectl.store.db import writing

    changes = {
        k: v
        for k, v in (("name", name), ("email", email), ("phone", phone), ("account", account))
        if v is not None
    }
    if not changes:
        raise InputError("nothing to change (see 'pipectl contact edit --help')")
    now = common.now()
    with writing(common.DB_PATH) as db:
        managers_only(db, "changing a contact")
        out = edit_contact(db, resolve_contact(db, ref), changes, now)
    mode = output.pick_mode(as_json)
    if mode != output.JSON:
        _notes(out["notes"])
    changed = ", ".join(out["changed"]) or "nothing"
    render.done(out, f"contact #{out['id']}: changed {changed}", mode)


@contact_app.command("merge")
def contact_merge(
    dup: str = typer.Argument(..., metavar="CONTACT", help="The duplicate (it goes)."),
    into: str = typer.Argument(..., metavar="INTO", help="The contact it joins (it stays)."),
    as_json: bool = JsonOpt,
) -> None:
    """Join a duplicate contact into another: its deals move, its details fill in what the
    other lacks, it goes. 'pipectl undo' reverses it."""
    from pipectl.render import accounts as render
    from pipectl.render import output
    from pipectl.services.accounts import contact_json, managers_only
    from pipectl.store import accounts as store
    from pipectl.store.db import writing

    now = common.now()
    with writing(common.DB_PATH) as db:
        managers_only(db, "merging contacts")
        a = store.get_contact(db, store.resolve_contact(db, dup))
        b_id = store.resolve_contact(db, into)
        merged = store.merge_contacts(db, a.id, b_id, now)
        b = store.get_contact(db, b_id)
    render.done(
        {
            **contact_json(b),
            "merged": contact_json(a),
            "deals": merged.deals,
            "filled": merged.filled,
        },
        f"merged contact #{a.id} {a.label} into #{b.id} {b.label}: {len(merged.deals)} deals",
        output.pick_mode(as_json),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
    app.add_typer(contact_app, name="contact")
