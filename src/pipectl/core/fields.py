"""The field registry: every field of a deal, declared once.

The deal query's columns and ``DealRow`` (``store/queries.py``), the columns a deal is created
and edited with (``store/deals.py``, ``services/deals.py``, ``edit --clear``), the import's
header names and synonyms (``core/importing.py``), the export's columns
(``services/transfer.py``) and the keys of ``show --json`` (``render/views.py``) all read this
list. Adding a field is an entry here plus a migration (``store/migrations.py``) and the column
in ``store/models.py`` (a test checks the three agree).

Every text field has a length cap (``cap``, in characters), checked on the one write path
(``store/deals.py``: ``create``, ``set_fields``, a lost reason) by ``check``; the import's
dry run calls the same ``check`` so that it refuses what the write would. An activity's and a
follow-up's text have one cap each (``MAX_TEXT``, ``MAX_FOLLOWUP``), declared here too.

Pure: no I/O, no imports beyond the standard library (and ``pipectl.errors``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The longest text of an activity (``log``, an imported note), in characters.
MAX_TEXT = 10_000
#: The longest text of a follow-up (``followup``, an imported next step), in characters.
MAX_FOLLOWUP = 1_000

#: How a stored value is read back (``store/queries.py`` decodes by kind).
KINDS = ("id", "text", "int", "money", "currency", "date", "instant", "tags", "stage")


class DealField:
    """One field of a deal (a plain class: built at every start-up, so kept cheap)."""

    __slots__ = ("cap", "clear", "column", "editable", "json", "kind", "label", "name",
                 "settable", "sheet", "synonyms")  # fmt: skip

    def __init__(
        self,
        name: str,  # DealRow attribute, JSON key; the deals column unless ``column`` says not
        kind: str,  # one of KINDS
        label: str,  # for people
        *,
        column: str = "",  # SQL in the deal query (default ``d.<name>``)
        settable: bool = False,  # a deals column that ``add``/import set when creating a deal
        editable: bool = False,  # ``edit`` may change it
        clear: str = "",  # ``edit --clear NAME`` empties it
        sheet: str = "",  # its column name in a spreadsheet (import and export)
        synonyms: tuple[str, ...] = (),  # other CRMs' header names for it (normalised)
        json: bool = True,  # a key of the deal's JSON
        cap: int = 0,  # a text (or tags) field's longest stored length, in characters
    ) -> None:
        self.name, self.kind, self.label, self.column = name, kind, label, column
        self.settable, self.editable, self.clear, self.sheet = settable, editable, clear, sheet
        self.synonyms, self.json, self.cap = synonyms, json, cap

    def check(self, value: object) -> None:
        """``value`` fits this field's cap, else one InputError naming the field and limit."""
        if self.cap and isinstance(value, str) and len(value) > self.cap:
            from pipectl.errors import InputError

            raise InputError(f"{self.label} too long: {len(value)} characters (at most {self.cap})")

    @property
    def sql(self) -> str:
        return self.column or f"d.{self.name}"

    def __repr__(self) -> str:
        return f"DealField({self.name!r}, {self.kind!r})"


F = DealField

#: In the order of the deal query, the JSON and the export.
DEAL_FIELDS: tuple[DealField, ...] = (
    F("id", "id", "Id", sheet="pipectl_id"),
    F("external_id", "text", "External id", settable=True, editable=True, clear="external-id",
      sheet="external_id", synonyms=("id", "external id", "crm id", "deal id", "opportunity id",
                                     "record id"), cap=200),
    F("title", "text", "Title", settable=True, editable=True, sheet="title",
      synonyms=("name", "deal", "deal name", "opportunity", "opportunity name", "subject"),
      cap=300),
    F("account", "text", "Account", settable=True, editable=True, clear="account",
      sheet="account", synonyms=("company", "organization", "organisation", "account name",
                                 "client", "customer"), cap=300),
    F("contact_name", "text", "Contact", settable=True, editable=True, clear="contact",
      sheet="contact", synonyms=("contact name", "person", "contact person"), cap=200),
    F("contact_email", "text", "Email", settable=True, editable=True, clear="email",
      sheet="email", synonyms=("e-mail", "email address", "contact email"), cap=254),
    F("contact_phone", "text", "Phone", settable=True, editable=True, clear="phone",
      sheet="phone", synonyms=("telephone", "phone number", "mobile"), cap=50),
    F("value_minor", "money", "Value", settable=True, editable=True, clear="value",
      sheet="value", synonyms=("amount", "deal value", "deal amount", "price", "revenue",
                               "opportunity amount", "total")),
    F("currency", "currency", "Currency", settable=True, editable=True, sheet="currency"),
    F("stage_id", "int", "Stage id", json=False),
    F("stage", "stage", "Stage", column="s.name", sheet="stage",
      synonyms=("pipeline stage", "deal stage", "phase")),
    F("probability", "int", "Probability", column="s.probability"),
    F("stale_days", "int", "Stale after (days)", column="s.stale_days", json=False),
    F("status", "text", "Status", sheet="status", synonyms=("state", "outcome"), cap=10),
    F("owner", "text", "Owner", settable=True, editable=True, clear="owner", sheet="owner",
      synonyms=("assigned to", "sales rep", "rep", "deal owner"), cap=100),
    F("source", "text", "Source", settable=True, editable=True, clear="source", sheet="source",
      synonyms=("lead source", "channel", "origin"), cap=100),
    F("tags", "tags", "Tags", settable=True, editable=True, clear="tags", sheet="tags",
      synonyms=("labels", "label", "tag"), cap=1000),
    F("expected_close", "date", "Expected close", settable=True, editable=True, clear="close",
      sheet="expected_close", synonyms=("expected close date", "expected close",
                                        "expected closing date")),
    F("created_at", "instant", "Created", sheet="created_at",
      synonyms=("created", "created date", "create date", "createdate", "creation date",
                "date created", "created on", "add time")),
    F("closed_at", "instant", "Closed", sheet="closed_at",
      synonyms=("closed", "closed date", "won time", "date closed", "close time")),
    F("lost_reason", "text", "Lost reason", sheet="lost_reason",
      synonyms=("lost reason", "loss reason", "reason lost"), cap=1000),
    F("updated_at", "instant", "Updated"),
    F("stage_entered_at", "instant", "In stage since"),
    F("last_touch_at", "instant", "Last touch", sheet="last_touch_at",
      synonyms=("last touch", "last activity", "last activity date", "last contacted",
                "last contact", "last contact date", "date of last activity")),
    F("stage_position", "int", "Stage position", column="s.position", json=False),
    F("blocker", "text", "Blocker", cap=1000),
    F("blocker_owner", "text", "Blocker's action owner", cap=100),
    F("version", "int", "Version"),
    # the account record whose name ``account`` is (``store/accounts.py`` keeps them in step)
    F("account_id", "int", "Account id"),
)  # fmt: skip

BY_NAME = {f.name: f for f in DEAL_FIELDS}
#: deals columns set when a deal is created (``store.deals.create``)
SETTABLE = tuple(f.name for f in DEAL_FIELDS if f.settable)
#: deals columns ``edit`` may change
EDITABLE = tuple(f.name for f in DEAL_FIELDS if f.editable)
#: ``edit --clear NAME`` → column
CLEARABLE = {f.clear: f.name for f in DEAL_FIELDS if f.clear}
#: spreadsheet column name → field, for the fields a sheet carries
SHEET = {f.sheet: f for f in DEAL_FIELDS if f.sheet}


def check_lengths(values: Mapping[str, object]) -> None:
    """Every value of ``values`` (field name → value as stored: text, tags joined by commas)
    fits its field's cap, else one InputError naming the first field that does not."""
    for name, value in values.items():
        field = BY_NAME.get(name)
        if field is not None and field.cap:
            field.check(value)


def value_currencies(
    events: Sequence[tuple[object, str | None, str | None]], current: str
) -> list[tuple[str, str]]:
    """The currencies of a deal's value changes. History keeps a value change's old and new
    amounts as numbers of minor units (``value_minor`` events) and a change of currency as its
    own ``currency`` event, written in the same transaction at the same instant (``edit
    --value €5k`` on a dollar deal writes both). ``events`` are one deal's events, oldest
    first, as (at, field, old value): all of them or at least every ``value_minor`` and
    ``currency`` one; ``current`` is the deal's currency now. Returns, for each
    ``value_minor`` event in order, (currency of its old amount, currency of its new amount):
    the currency in effect just before its instant and just after it."""
    # walk back from now: the currency after an instant is the one before the next change
    after: dict[object, str] = {}
    before: dict[object, str] = {}
    cur = current
    for at, field, old in reversed(events):
        after.setdefault(at, cur)
        if field == "currency" and old:
            cur = old
        before[at] = cur
    return [(before[at], after[at]) for at, field, _ in events if field == "value_minor"]
