"""Realistic CRM deal exports for the import tests, generated deterministically.

Each ``*_export(seed, n)`` returns the CSV text, in that CRM's exact header shape, date
formats, amount formats and default stage names, and the rows as plain dicts (the truth the
tests compute their expected figures from, by hand). The truth holds what the *file* says,
at the file's precision (a close date written without a time is midnight), never anything
read back through pipectl.

Times are written as the CRM writes them for a user in UTC (the test suite runs in UTC), and
every one lies before the suite's frozen clock (2026-11-24T10:00Z).

Truth keys: ``ext`` (the CRM's id), ``title``, ``account``, ``contact``, ``owner``,
``status`` (open, won, lost, deleted), ``stage`` (as the file writes it), ``ours`` (our stage
for an open deal, ``won`` / ``lost`` for a closed one), ``value`` (Decimal or None),
``currency``, ``created`` (naive UTC datetime), ``closed`` (naive UTC datetime or None),
``expected`` (date or None), ``last_activity`` (naive UTC datetime or None), ``next_activity``
(date or None), ``lost_reason``.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

#: The suite's frozen clock (tests/conftest.py FROZEN), naive UTC.
NOW = datetime(2026, 11, 24, 10, 0)
FIRST = datetime(2025, 5, 1, 8, 0)  # the earliest creation

FIRST_NAMES = ["Jane", "Bob", "Ana", "Ravi", "Mei", "Tom", "Lena", "Omar", "Sofia", "Ken",
               "Priya", "Lukas", "Chloe", "Diego", "Aisha", "Noah"]  # fmt: skip
LAST_NAMES = ["Doe", "Roe", "Silva", "Patel", "Chen", "Berg", "Novak", "Haddad", "Rossi",
              "Tanaka", "Iyer", "Weber", "Martin", "Lopez", "Okafor", "Smith"]  # fmt: skip
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Hooli", "Stark Industries",
             "Wayne Enterprises", "Vandelay Import/Export", "Soylent GmbH", "Tyrell Corp",
             "Cyberdyne", "Wonka & Sons", "Duff Brewing", "Oceanic Air", "Nakatomi Trading",
             "Zürich Versicherung", "Müller Bau AG", "Ōsaka Denki", "Café Olé S.A.",
             "Dunder Mifflin"]  # fmt: skip
PRODUCTS = ["renewal", "expansion", "pilot", "onboarding", "platform licence", "support plan",
            "data migration", "training", "API add-on", "enterprise tier"]  # fmt: skip
OWNERS = ["Ann Lee", "Carlos Mendes", "Dana Fischer", "Eve Kowalski"]
LOST_REASONS = ["Price too high", "Went with competitor", "No budget", "No decision",
                "Timing"]  # fmt: skip


def _csv(headers: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    return out.getvalue()


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}@example.com"


def _minute(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time on a whole minute in [start, end]."""
    span = int((end - start).total_seconds() // 60)
    return (start + timedelta(minutes=rng.randint(0, max(span, 0)))).replace(
        second=0, microsecond=0
    )


def _skeleton(
    rng: random.Random,
    i: int,
    open_stages: list[str],
    *,
    p_open: float = 0.45,
    p_won: float = 0.55,
) -> dict[str, Any]:
    """One deal's story, independent of any CRM's format: when it was created, whether and
    when it closed, its last activity, its amount."""
    account = rng.choice(COMPANIES)
    title = f"{account} {rng.choice(PRODUCTS)} #{i}"
    created = _minute(rng, FIRST, NOW - timedelta(days=3))
    status = "open" if rng.random() < p_open else "won" if rng.random() < p_won else "lost"
    d: dict[str, Any] = {
        "title": title,
        "account": account,
        "owner": rng.choice(OWNERS),
        "status": status,
        "created": created,
        "closed": None,
        "expected": None,
        "last_activity": None,
        "next_activity": None,
        "lost_reason": None,
    }
    if status == "open":
        d["stage_index"] = rng.randrange(len(open_stages))
        # expected close: some already slipped, most ahead
        d["expected"] = (NOW + timedelta(days=rng.randint(-40, 200))).date()
        if rng.random() < 0.85:
            # last activity: at least a day after creation, before now; a third long ago
            lo = created + timedelta(days=1)
            hi = NOW - timedelta(hours=1)
            if lo < hi:
                d["last_activity"] = _minute(rng, lo, hi)
    else:
        d["stage_index"] = rng.randrange(len(open_stages))  # the stage it closed from
        # closed from a day up to ~5 months after creation, before now; a few the same day
        if rng.random() < 0.05:
            closed = created + timedelta(minutes=rng.randint(30, 300))
        else:
            closed = created + timedelta(days=rng.randint(1, 150), minutes=rng.randint(0, 600))
        closed = min(closed, NOW - timedelta(hours=2))
        d["closed"] = closed.replace(second=0, microsecond=0)
        if rng.random() < 0.7:
            lo, hi = created + timedelta(days=1), d["closed"]
            if lo < hi:
                d["last_activity"] = _minute(rng, lo, hi)
        if status == "lost":
            d["lost_reason"] = rng.choice(LOST_REASONS)
    # amounts in whole hundreds, now and then with cents
    value = Decimal(rng.randint(10, 900) * 100)
    if rng.random() < 0.2:
        value += Decimal(rng.randint(1, 99)) / 100
    d["value"] = value
    return d


def _last_activity_day(d: dict[str, Any]) -> None:
    """A CRM that writes its last activity as a day: midnight of that day, and never the
    day the deal was created (its midnight would come before the creation)."""
    la = d["last_activity"]
    if la is None:
        return
    day = datetime.combine(la.date(), datetime.min.time())
    if day.date() <= d["created"].date():
        day = datetime.combine(d["created"].date() + timedelta(days=1), datetime.min.time())
    late = day > NOW or (d["closed"] is not None and day > d["closed"])
    d["last_activity"] = None if late else day


def _close_day(d: dict[str, Any]) -> None:
    """A CRM that writes a closed deal's close date as a day: midnight of that day, at
    least the day after creation (else its midnight would precede the creation)."""
    day = d["closed"].date()
    if day <= d["created"].date():
        day = d["created"].date() + timedelta(days=1)
    d["closed"] = datetime.combine(day, datetime.min.time())
    la = d["last_activity"]
    if la is not None and la > d["closed"]:
        d["last_activity"] = None if la.date() == d["created"].date() else d["closed"]


# --- HubSpot ------------------------------------------------------------------------------

HUBSPOT_STAGES = {
    "Appointment Scheduled": "Lead",
    "Qualified To Buy": "Qualified",
    "Presentation Scheduled": "Scoping",
    "Decision Maker Bought-In": "Proposal",
    "Contract Sent": "Negotiation",
}
HUBSPOT_HEADERS = [
    "Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
    "Create Date", "Pipeline", "Associated Company", "Associated Contact", "Deal Description",
    "Last Activity Date", "Deal Type", "Closed Lost Reason", "Hubspot Score",
    "Number of times contacted", "Forecast category",
]  # fmt: skip


def hubspot_export(
    seed: int = 1, n: int = 360, *, contact_style: str = "plain"
) -> tuple[str, list[dict[str, Any]]]:
    """A HubSpot "Deals" export (CSV). ``contact_style``: ``plain`` writes "Associated
    Contact" as a name or an email address alone; ``hubspot`` as HubSpot writes an
    association, ``Jane Doe (jane.doe@example.com)``."""
    rng = random.Random(seed)
    open_names = list(HUBSPOT_STAGES)
    rows, truth = [], []
    for i in range(n):
        d = _skeleton(rng, i, open_names)
        d["ext"] = str(9_000_000_000 + i * 7919 + rng.randrange(7919))
        d["currency"] = "USD"
        if d["status"] == "open":
            d["stage"] = open_names[d["stage_index"]]
            d["ours"] = HUBSPOT_STAGES[d["stage"]]
            if rng.random() < 0.3:
                d["value"] = None  # HubSpot: open deals often have no amount yet
        else:
            d["stage"] = "Closed Won" if d["status"] == "won" else "Closed Lost"
            d["ours"] = d["status"]
            if d["status"] == "lost" and rng.random() < 0.3:
                d["value"] = None  # a lost deal without an amount
        # HubSpot writes 2026-03-14 09:30, or 2026-03-14 for a date property set by hand
        if d["closed"] is not None and rng.random() < 0.3:
            _close_day(d)
        name, email = _person(rng)
        if rng.random() < 0.1:
            contact = ""
        elif contact_style == "hubspot":
            contact = f"{name} ({email})"
        else:
            contact = email if rng.random() < 0.2 else name
        d["contact"] = contact
        truth.append(d)
        close = ""
        if d["closed"] is not None:
            close = _hs_time(d["closed"])
        elif d["expected"] is not None:
            close = d["expected"].isoformat()
        rows.append([
            d["ext"], d["title"], d["stage"], close, d["owner"],
            "" if d["value"] is None else _plain(d["value"]),
            _hs_time(d["created"]), "Sales Pipeline", d["account"], contact,
            rng.choice(
                ["", "", "Inbound from webinar", "Referral via partner; call Tuesday",
                 "Budget approved.\nLegal review in Q1, \"standard\" terms"]
            ),
            "" if d["last_activity"] is None else _hs_time(d["last_activity"]),
            rng.choice(["newbusiness", "existingbusiness", ""]), d["lost_reason"] or "",
            str(rng.randint(0, 100)), str(rng.randint(0, 12)),
            rng.choice(["Pipeline", "Best case", "Commit", "Omit"]),
        ])  # fmt: skip
    return _csv(HUBSPOT_HEADERS, rows), truth


def _hs_time(when: datetime) -> str:
    return (
        when.strftime("%Y-%m-%d")
        if when.time() == datetime.min.time()
        else when.strftime("%Y-%m-%d %H:%M")
    )


def _plain(value: Decimal) -> str:
    """An amount as HubSpot and Pipedrive write it: a plain number."""
    return f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"


# --- Salesforce ---------------------------------------------------------------------------

SALESFORCE_STAGES = {
    "Prospecting": "Lead",
    "Qualification": "Qualified",
    "Needs Analysis": "Scoping",
    "Value Proposition": "Scoping",
    "Id. Decision Makers": "Scoping",
    "Perception Analysis": "Proposal",
    "Proposal/Price Quote": "Proposal",
    "Negotiation/Review": "Negotiation",
}
SALESFORCE_PROBABILITY = {
    "Prospecting": 10, "Qualification": 10, "Needs Analysis": 20, "Value Proposition": 50,
    "Id. Decision Makers": 60, "Perception Analysis": 70, "Proposal/Price Quote": 75,
    "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0,
}  # fmt: skip
SALESFORCE_HEADERS = [
    "Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount",
    "Close Date", "Stage", "Probability (%)", "Created Date", "Lead Source", "Next Step",
    "Last Activity", "Fiscal Period", "Type",
]  # fmt: skip
_SF_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _sf_id(rng: random.Random, prefix: str) -> str:
    return prefix + "5g0000" + "".join(rng.choice(_SF_CHARS) for _ in range(9))


def _us_day(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _us_time(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{_us_day(when.date())}, {hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def _us_amount(value: Decimal, rng: random.Random) -> str:
    text = f"{value:,.2f}"
    return f"USD {text}" if rng.random() < 0.5 else f"${text}"


def _salesforce_stage(d: dict[str, Any], open_names: list[str], rng: random.Random) -> None:
    """A Salesforce row's stage: an open one (a quarter without an amount), or Closed Won /
    Closed Lost with its Close Date; then its Last Activity (both date fields)."""
    if d["status"] == "open":
        d["stage"] = open_names[d["stage_index"]]
        d["ours"] = SALESFORCE_STAGES[d["stage"]]
        if rng.random() < 0.25:
            d["value"] = None
    else:
        d["stage"] = "Closed Won" if d["status"] == "won" else "Closed Lost"
        d["ours"] = d["status"]
        _close_day(d)
    _last_activity_day(d)


def salesforce_report(seed: int = 2, n: int = 340) -> tuple[str, list[dict[str, Any]]]:
    """A Salesforce Opportunities report, exported "Details Only" as CSV by an en_US user:
    US dates (``3/14/2026``; ``3/14/2026, 9:30 AM`` for the created date), amounts such as
    ``USD 12,000.00`` or ``$12,000.00``."""
    rng = random.Random(seed)
    open_names = list(SALESFORCE_STAGES)
    rows, truth = [], []
    for i in range(n):
        d = _skeleton(rng, i, open_names)
        d["ext"] = _sf_id(rng, "006")
        d["currency"] = "USD"
        d["contact"] = ""
        d["lost_reason"] = None  # no standard column (Loss_Reason__c is a custom field)
        _salesforce_stage(d, open_names, rng)
        truth.append(d)
        close_day = d["closed"].date() if d["closed"] else d["expected"]
        fq = (close_day.month - 1) // 3 + 1
        rows.append([
            d["ext"], d["title"], d["account"], d["owner"],
            "" if d["value"] is None else _us_amount(d["value"], rng),
            _us_day(close_day), d["stage"], str(SALESFORCE_PROBABILITY[d["stage"]]),
            _us_time(d["created"]),
            rng.choice(["Web", "Phone Inquiry", "Partner Referral", "Trade Show", ""]),
            rng.choice(["", "", "Send revised quote", "Demo with IT, 2 pm"]),
            "" if d["last_activity"] is None else _us_day(d["last_activity"].date()),
            f"Q{fq}-{close_day.year}",
            rng.choice(["New Customer", "Existing Customer - Upgrade", ""]),
        ])  # fmt: skip
    return _csv(SALESFORCE_HEADERS, rows), truth


DATALOADER_HEADERS = [
    "Id", "Name", "StageName", "Amount", "CloseDate", "CreatedDate", "LastActivityDate",
    "IsClosed", "IsWon", "AccountId", "OwnerId", "Probability", "ForecastCategoryName",
]  # fmt: skip


def salesforce_dataloader(seed: int = 3, n: int = 150) -> tuple[str, list[dict[str, Any]]]:
    """Data Loader's export of the Opportunity object: API names, ISO dates,
    ``2026-03-14T09:30:00.000Z`` times, plain amounts, ids for the account and owner."""
    rng = random.Random(seed)
    open_names = list(SALESFORCE_STAGES)
    accounts = {c: _sf_id(rng, "001") for c in COMPANIES}
    owners = {o: _sf_id(rng, "005") for o in OWNERS}
    rows, truth = [], []
    for i in range(n):
        d = _skeleton(rng, i, open_names)
        d["ext"] = _sf_id(rng, "006")
        d["currency"] = "USD"
        d["contact"] = ""
        d["lost_reason"] = None  # no standard column (Loss_Reason__c is a custom field)
        d["account"] = accounts[d["account"]]  # AccountId is what the file has
        d["owner"] = owners[d["owner"]]
        _salesforce_stage(d, open_names, rng)
        truth.append(d)
        close_day = d["closed"].date() if d["closed"] else d["expected"]
        closed = d["status"] != "open"
        rows.append([
            d["ext"], d["title"], d["stage"],
            "" if d["value"] is None else f"{d['value']:.1f}" if d["value"] % 1 == 0
            else f"{d['value']:.2f}",
            close_day.isoformat(), d["created"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "" if d["last_activity"] is None else d["last_activity"].date().isoformat(),
            "true" if closed else "false", "true" if d["status"] == "won" else "false",
            d["account"], d["owner"], str(SALESFORCE_PROBABILITY[d["stage"]]),
            "Closed" if d["status"] == "won" else "Omitted" if closed else "Pipeline",
        ])  # fmt: skip
    return _csv(DATALOADER_HEADERS, rows), truth


# --- Pipedrive ----------------------------------------------------------------------------

PIPEDRIVE_STAGES = {
    "Lead In": "Lead",
    "Contact Made": "Qualified",
    "Demo Scheduled": "Scoping",
    "Proposal Made": "Proposal",
    "Negotiations Started": "Negotiation",
}
PIPEDRIVE_HEADERS = [
    "Deal - ID", "Deal - Title", "Deal - Creator", "Deal - Owner", "Deal - Value",
    "Deal - Currency", "Deal - Weighted value", "Deal - Probability", "Deal - Organization",
    "Deal - Pipeline", "Deal - Contact person", "Deal - Stage", "Deal - Label",
    "Deal - Status", "Deal - Deal created", "Deal - Update time", "Deal - Last stage change",
    "Deal - Next activity date", "Deal - Last activity date", "Deal - Won time",
    "Deal - Lost time", "Deal - Lost reason", "Deal - Expected close date",
]  # fmt: skip


def _pd_time(when: datetime | None) -> str:
    return "" if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def pipedrive_export(seed: int = 4, n: int = 380) -> tuple[str, list[dict[str, Any]]]:
    """A Pipedrive "Export data → Deals" CSV: ``Deal - …`` headers, ``2026-03-14 09:30:00``
    times, a Status column (open / won / lost, and a few deleted), the stage a closed deal
    was in kept beside its status, a Won time or a Lost time (never both), euros and
    dollars."""
    rng = random.Random(seed)
    open_names = list(PIPEDRIVE_STAGES)
    rows, truth = [], []
    for i in range(n):
        d = _skeleton(rng, i, open_names)
        d["ext"] = str(1000 + i)
        if rng.random() < 0.02:
            d["status"] = "deleted"  # Pipedrive exports deleted deals with their status
            d["closed"] = d["lost_reason"] = None
        d["currency"] = "EUR" if rng.random() < 0.6 else "USD"
        d["stage"] = open_names[d["stage_index"]]
        d["ours"] = (
            PIPEDRIVE_STAGES[d["stage"]] if d["status"] in ("open", "deleted") else d["status"]
        )
        d["contact"], _email = _person(rng) if rng.random() < 0.9 else ("", "")
        _last_activity_day(d)  # Pipedrive's last activity date is a day
        if d["status"] != "open":
            d["expected"] = None if rng.random() < 0.5 else d["created"].date() + timedelta(30)
        elif rng.random() < 0.2:
            d["expected"] = None
        if d["status"] == "open":
            r = rng.random()
            if r < 0.3:  # a next activity ahead (or today): prune leaves the deal alone
                d["next_activity"] = (NOW + timedelta(days=rng.randint(0, 30))).date()
            elif r < 0.45:  # an overdue one: does not protect it
                d["next_activity"] = (NOW - timedelta(days=rng.randint(1, 90))).date()
            if rng.random() < 0.1:
                d["value"] = None
        truth.append(d)
        value = d["value"]
        prob = rng.choice(["", "", "25", "60"])
        weighted = "" if value is None or not prob else _plain(value * int(prob) / 100)
        stage_change = d["closed"] or d["last_activity"] or d["created"]
        rows.append([
            d["ext"], d["title"], rng.choice(OWNERS), d["owner"],
            "" if value is None else _plain(value), d["currency"],
            weighted if weighted else ("" if value is None else _plain(value)),
            prob, d["account"], "Pipeline", d["contact"], d["stage"],
            rng.choice(["", "", "Hot", "Warm", "Cold"]), d["status"], _pd_time(d["created"]),
            _pd_time(max(stage_change, d["last_activity"] or d["created"])),
            _pd_time(stage_change),
            "" if d["next_activity"] is None else d["next_activity"].isoformat(),
            "" if d["last_activity"] is None else d["last_activity"].date().isoformat(),
            _pd_time(d["closed"]) if d["status"] == "won" else "",
            _pd_time(d["closed"]) if d["status"] == "lost" else "",
            d["lost_reason"] or "",
            "" if d["expected"] is None else d["expected"].isoformat(),
        ])  # fmt: skip
    return _csv(PIPEDRIVE_HEADERS, rows), truth
