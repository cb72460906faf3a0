"""A realistic sample pipeline, built through the same service functions a rep's commands use
(so its history — creations, moves, touches, wins and losses — is real history)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pipectl.core.money import Money
from pipectl.core.states import Outcome, Status
from pipectl.services.deals import NewDeal, add_deal, log_activity, move_deal
from pipectl.store import deals as store
from pipectl.store import playbook, queries
from pipectl.store.engine import Database

ACCOUNTS = [
    ("Acme Corp", "Jane Doe", "jane@acme.example"),
    ("Globex", "Hank Scorpio", "hank@globex.example"),
    ("Initech", "Bill Lumbergh", "bill@initech.example"),
    ("Umbrella Health", "Alice Abernathy", "alice@umbrella.example"),
    ("Stark Logistics", "Pepper Potts", "pepper@stark.example"),
    ("Wayne Foods", "Lucius Fox", "lucius@wayne.example"),
    ("Hooli", "Gavin Belson", "gavin@hooli.example"),
    ("Vandelay Industries", "Art Vandelay", "art@vandelay.example"),
    ("Soylent", "Sol Roth", "sol@soylent.example"),
    ("Tyrell Systems", "Rachael Tyrell", "rachael@tyrell.example"),
    ("Cyberdyne", "Miles Dyson", "miles@cyberdyne.example"),
    ("Wonka Retail", "Charlie Bucket", "charlie@wonka.example"),
    ("Aperture Labs", "Cave Johnson", "cave@aperture.example"),
    ("Massive Dynamic", "Nina Sharp", "nina@massive.example"),
    ("Pied Piper", "Monica Hall", "monica@piedpiper.example"),
]
PRODUCTS = [
    ("renewal", 8_000, 30_000),
    ("CRM rollout", 20_000, 90_000),
    ("analytics add-on", 5_000, 18_000),
    ("enterprise licence", 40_000, 160_000),
    ("onboarding package", 3_000, 9_000),
    ("pilot", 2_000, 6_000),
]
SOURCES = ["referral", "website", "outbound", "event", "partner"]
LOST_REASONS = ["no budget", "chose a competitor", "no decision", "timing", "went silent"]
TOUCHES = [
    ("call", "discovery call"),
    ("email", "sent case study"),
    ("meeting", "met the buying committee"),
    ("demo", "product demo"),
    ("call", "checked in on the proposal"),
    ("email", "answered security questionnaire"),
    ("note", "champion is enthusiastic"),
]


def fill(db: Database, now: datetime, *, deals: int = 40, seed: int = 7) -> int:
    """Add ``deals`` sample deals with six months of history ending at ``now``."""
    rng = random.Random(seed)
    luck = random.Random(seed + 1)  # the steps' own: the deals stay what they always were
    stage_rows = queries.stages(db)
    open_stages = [s for s in stage_rows if s.kind == Status.OPEN]
    won = next(s for s in stage_rows if s.kind == Status.WON)
    lost = next(s for s in stage_rows if s.kind == Status.LOST)
    currency = queries.setting(db, "currency")
    for i in range(deals):
        account, person, email = ACCOUNTS[i % len(ACCOUNTS)]
        product, low, high = PRODUCTS[rng.randrange(len(PRODUCTS))]
        value = Money.from_major(rng.randrange(low // 500, high // 500) * 500, currency)
        start = now - timedelta(days=rng.randrange(5, 180), hours=rng.randrange(0, 9))
        deal_id = add_deal(
            db,
            NewDeal(
                title=f"{account} {product}",
                value=value,
                currency=currency,
                stage=open_stages[0],
                account=account,
                contact_name=person,
                contact_email=email,
                expected_close=(start + timedelta(days=rng.randrange(30, 150))).date(),
                source=rng.choice(SOURCES),
                tags=("demo",) + (("enterprise",) if value.minor > 4_000_000 else ()),
            ),
            start,
        )
        # Walk forward through the stages, touching the deal on the way; most playbook steps
        # get done, some late, some not before the deal moves on
        outcome = rng.random()
        depth = rng.randrange(0, len(open_stages))
        t = start
        _work_steps(db, luck, deal_id, start, now)
        for stage in open_stages[1 : depth + 1]:
            for _ in range(rng.randrange(1, 3)):
                t += timedelta(days=rng.randrange(1, 9), hours=rng.randrange(0, 6))
                if t >= now:
                    break
                kind, text = rng.choice(TOUCHES)
                log_activity(db, deal_id, kind, text, t, t)
            t += timedelta(days=rng.randrange(1, 12))
            if t >= now:
                break
            move_deal(db, queries.get_deal(db, deal_id), stage, t)
            _work_steps(db, luck, deal_id, t, now)
        t += timedelta(days=rng.randrange(2, 20))
        if t < now and outcome < 0.22:
            move_deal(db, queries.get_deal(db, deal_id), won, t)
        elif t < now and outcome < 0.38:
            move_deal(db, queries.get_deal(db, deal_id), lost, t, reason=rng.choice(LOST_REASONS))
        elif outcome < 0.8:
            # most live deals were touched lately; the rest are going stale, as in real life
            recent = now - timedelta(days=rng.randrange(0, 8), hours=rng.randrange(1, 9))
            if recent > t:
                kind, text = rng.choice(TOUCHES)
                log_activity(db, deal_id, kind, text, recent, recent)
    return deals


def _work_steps(
    db: Database, rng: random.Random, deal_id: int, entered: datetime, now: datetime
) -> None:
    """Do the playbook steps the deal was just given (at ``entered``): most on their day or
    the day before, some days late, some never (the move on closes them)."""
    for fid, what, due, _link in playbook.scheduled(db, deal_id):
        luck = rng.random()
        if luck > 0.85:
            continue
        late = rng.randrange(2, 9) if luck > 0.6 else -rng.randrange(0, 2)  # days after due
        done = max(entered, datetime.combine(due, entered.timetz()) + timedelta(days=late))
        if done < now:
            store.end_followup(db, fid, deal_id, Outcome.DONE, done, f"{what}: done")
