"""The forecast's track record (``pipectl forecast score``), and what ``forecast`` learns from
it: for each past period, the forecast frozen as it would have been made at the period's start
(or ``--lead`` days before), from what was known then, beside what was won.

Every frozen pipeline comes from one pass over the history, not one ``--as-of`` per period:
three streamed, set-based reads (every deal as it is now, every stage move — from the covering
index ``ix_events_moves`` —, and the changes to value, currency and expected close), then all
the freeze instants at once with numpy. A deal's stage at an instant T is that of its last move
at or before T (ties: the last by id), its value, currency and expected close the old value of
its first change after T, else the current one — the ``--as-of`` rules of
``store/analytics``, which a test holds this pass to, period by period. The historical
probabilities and the win rate at T are learned from the deals closed at T only.

Exact like the rest: money in integer minor units, probabilities as ``Fraction``; numpy only
selects and counts, in int64.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pipectl.clock import from_local_date, local_today
from pipectl.core import metrics as m
from pipectl.core import scoring as sc
from pipectl.core.money import major_json
from pipectl.errors import InputError
from pipectl.store import analytics as q
from pipectl.store.engine import Database
from pipectl.store.queries import damaged, setting, stages

if TYPE_CHECKING:
    import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_OPEN, _WON, _LOST = 0, 1, 2
_KIND = {"open": _OPEN, "won": _WON, "lost": _LOST}
#: An instant later than any stored one (a move that is still the deal's last).
_NEVER = 2**62


def micros(instant: datetime) -> int:
    """An aware instant as microseconds since the epoch (how the arrays hold time)."""
    return (instant - _EPOCH) // _US


def _instants(texts: list[str]) -> np.ndarray:
    """Stored instants (text, UTC) as int64 microseconds since the epoch."""
    import numpy as np

    try:
        return np.array(texts, dtype="datetime64[us]").astype(np.int64)
    except (TypeError, ValueError):
        raise damaged(_first_bad(texts, datetime.fromisoformat), "time") from None


def _first_bad(texts: list[Any], parse: Any) -> str:
    """The first of ``texts`` that ``parse`` refuses (what a damaged-file error names)."""
    for t in texts:
        try:
            parse(t)
        except (TypeError, ValueError):
            return str(t)
    return str(texts[0]) if texts else ""


def _days(texts: list[str | None]) -> np.ndarray:
    """Dates (ISO text, or None) as int64 days since the epoch; no date: the smallest int64."""
    import numpy as np

    try:
        return np.array([t or "NaT" for t in texts], dtype="datetime64[D]").astype(np.int64)
    except (TypeError, ValueError):
        raise damaged(_first_bad([t for t in texts if t], date.fromisoformat), "date") from None


def freeze_instant(day: date) -> int:
    """The instant a forecast for a period is frozen at, when made on ``day``: the last
    microsecond before it begins — the end of the day before, as ``--as-of`` reads a day —,
    so nothing stamped at midnight (a date-only import's times) is known yet."""
    return micros(from_local_date(day)) - 1


_NO_DAY = -(2**63)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def epoch_day(d: date) -> int:
    return d.toordinal() - _EPOCH_DAY


@dataclass
class Changes:
    """The changes to one deal field, sorted by deal, then time, then event id: the deal index,
    the instant (µs), the old value (minor units, currency code or epoch day) and whether
    there was one (a value or a close date may have been unset)."""

    deal: np.ndarray
    at: np.ndarray
    old: np.ndarray
    known: np.ndarray

    def before(self, deal: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For (deal, instant) pairs: (has a change after the instant, the index of the first
        such change — the field's value at the instant is its old value): the ``--as-of``
        rule, ``ORDER BY at, id`` ties included, in one vectorised search."""
        import numpy as np

        times = np.unique(self.at)
        width = len(times) + 1
        keys = self.deal * width + np.searchsorted(times, self.at)  # sorted: deal, then time
        wanted = deal * width + np.searchsorted(times, t, side="right")  # ranks after t
        j = np.searchsorted(keys, wanted, side="left")
        hit = j < len(keys)
        j = np.minimum(j, len(keys) - 1)
        return hit & (self.deal[j] == deal), j


@dataclass
class History:
    """The whole pipeline history as arrays (one row a deal, one row a move)."""

    stage_ids: list[int]
    stage_kind: np.ndarray  # per stage index: _OPEN, _WON, _LOST
    stage_prob: list[int]  # configured percent, per stage index
    deal_ids: np.ndarray
    created: np.ndarray  # µs
    status: np.ndarray  # now: _OPEN, _WON, _LOST
    closed: np.ndarray  # µs (now), _NEVER when open
    value: np.ndarray  # minor units now, 0 when unknown
    has_value: np.ndarray  # bool
    currency: np.ndarray  # index into currencies
    currencies: list[str]
    close_day: np.ndarray  # expected close now, days since the epoch; _NO_DAY when none
    m_deal: np.ndarray  # per move: deal index (sorted by deal, at, id)
    m_at: np.ndarray  # µs
    m_stage: np.ndarray  # stage index
    # field -> its changes (``Changes``), for the value, currency and expected close at T
    changes: dict[str, Changes] = field(default_factory=dict)

    @property
    def first_created(self) -> int | None:
        return int(self.created.min()) if len(self.created) else None


def load(conn: Database, changes_after: datetime | None = None) -> History:
    """The history of the whole pipeline (what the connection may see: on a team, a rep's
    own deals), read set-based. ``changes_after``: local midnight of the first day a
    forecast will be made on (its freeze instant is the microsecond before); the field
    changes made before it are dropped (a field's value at T comes from the first change
    after T: an earlier one never decides it)."""
    import numpy as np

    all_stages = stages(conn)
    lut = np.full(max((s.id for s in all_stages), default=0) + 1, -1, dtype=np.int64)
    for i, s in enumerate(all_stages):
        lut[s.id] = i
    cols: list[list[Any]] = [[] for _ in range(7)]
    for batch in q.history_deals(conn):
        for col, values in zip(cols, zip(*batch, strict=True), strict=True):
            col.extend(values)
    ids, created, status, closed, values, curs, close_days = cols
    deal_ids = np.array(ids, dtype=np.int64)
    closed_at = np.full(len(ids), _NEVER, dtype=np.int64)
    shut = [i for i, c in enumerate(closed) if c is not None]
    if shut:
        closed_at[shut] = _instants([closed[i] for i in shut])
    m_deal: list[np.ndarray] = []
    m_at: list[np.ndarray] = []
    m_stage: list[np.ndarray] = []
    for batch in q.history_moves(conn):
        d, a, st = zip(*batch, strict=True)
        m_deal.append(_index_of(deal_ids, list(d)))
        m_at.append(_instants(list(a)))
        m_stage.append(lut[np.array(st, dtype=np.int64)])
    currencies: dict[str, int] = {}
    for c in curs:
        currencies.setdefault(c, len(currencies))
    changes = _changes(conn, deal_ids, currencies, micros(changes_after) if changes_after else None)
    empty = np.zeros(0, dtype=np.int64)
    return History(
        stage_ids=[s.id for s in all_stages],
        stage_kind=np.array([_KIND[s.kind] for s in all_stages], dtype=np.int64),
        stage_prob=[s.probability for s in all_stages],
        deal_ids=deal_ids,
        created=_instants(created) if created else empty,
        status=np.array([_KIND.get(x, _OPEN) for x in status], dtype=np.int64),
        closed=closed_at,
        value=np.array([0 if v is None else v for v in values], dtype=np.int64),
        has_value=np.array([v is not None for v in values], dtype=bool),
        currency=np.array([currencies[c] for c in curs], dtype=np.int64),
        currencies=list(currencies),
        close_day=_days(close_days) if close_days else empty,
        m_deal=np.concatenate(m_deal) if m_deal else empty,
        m_at=np.concatenate(m_at) if m_at else empty,
        m_stage=np.concatenate(m_stage) if m_stage else empty,
        changes=changes,
    )


def _index_of(deal_ids: np.ndarray, ids: list[int]) -> np.ndarray:
    """The positions of ``ids`` in the sorted ``deal_ids``; a row naming a deal not read is
    a history out of step with its deals (never a neighbour's silently)."""
    import numpy as np

    wanted = np.array(ids, dtype=np.int64)
    pos = np.searchsorted(deal_ids, wanted)
    ok = pos < len(deal_ids)
    if not ok.all() or not (deal_ids[pos] == wanted).all():
        bad = wanted[~ok][0] if not ok.all() else wanted[deal_ids[pos] != wanted][0]
        raise damaged(str(bad), "deal id in the history")
    return pos


def _changes(
    conn: Database, deal_ids: np.ndarray, currencies: dict[str, int], after: int | None
) -> dict[str, Changes]:
    """The changes to value, currency and expected close, read in batches as columns and
    sorted per field (new currency codes added to ``currencies``)."""
    import numpy as np

    cols: list[list[Any]] = [[] for _ in range(5)]
    for batch in q.history_field_changes(conn):
        for col, values in zip(cols, zip(*batch, strict=True), strict=True):
            col.extend(values)
    deal_col, at_col, id_col, field_col, old_col = cols
    if not deal_col:
        return {}
    deal = _index_of(deal_ids, deal_col)
    at = _instants(at_col)
    ids = np.array(id_col, dtype=np.int64)
    fields = np.array(field_col, dtype=object)
    later = at >= after if after is not None else np.ones(len(at), dtype=bool)
    out = {}
    for name in q.FORECAST_FIELDS:
        sel = np.flatnonzero((fields == name) & later)
        if not len(sel):
            continue
        sel = sel[np.lexsort((ids[sel], at[sel], deal[sel]))]
        olds = [old_col[i] for i in sel.tolist()]
        known = np.array([o is not None for o in olds], dtype=bool)
        if name == "value_minor":
            old = np.array([0 if o is None else _minor(o) for o in olds], dtype=np.int64)
        elif name == "currency":
            old = np.array(
                [currencies.setdefault(_code(o), len(currencies)) for o in olds], dtype=np.int64
            )
        else:
            old = _days(olds)
        out[name] = Changes(deal[sel], at[sel], old, known)
    return out


def _minor(text: str) -> int:
    """A value's old amount in the history (whole minor units), or the damaged-file error."""
    try:
        return int(text)
    except (TypeError, ValueError):
        raise damaged(text, "amount in the history") from None


def _code(text: str | None) -> str:
    """A currency's old code in the history (three capital letters), or the damaged-file
    error: it is shown and keys every report."""
    if text is None or len(text) != 3 or not (text.isascii() and text.isalpha() and text.isupper()):
        raise damaged(str(text), "currency in the history")
    return text


# --- freezing the pipeline at many instants at once -------------------------------------------


@dataclass
class Frozen:
    """What was known at one freeze instant, and the forecast then made for one period."""

    period: m.Period
    at: int  # µs
    day: date  # the local day of the freeze
    open_deals: int = 0
    won_before: int = 0  # deals won at the freeze instant (the win rate's counts)
    lost_before: int = 0
    # stage index -> (closed deals that had been in it, of which won), at the freeze
    seen: dict[int, tuple[int, int]] = field(default_factory=dict)
    # the deals counted in the period: currency -> stage index -> [values]
    values: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    deals: int = 0  # deals counted in the period (value known or not)
    estimated: int = 0  # of which with an estimated close
    deals_by: dict[str, int] = field(default_factory=dict)  # the same per currency
    estimated_by: dict[str, int] = field(default_factory=dict)
    # deals open at the freeze that have closed since: stage index -> [won, lost]
    outcomes: dict[int, list[int]] = field(default_factory=dict)

    def historical(self, stage: int, configured: int) -> Fraction:
        closed, won = self.seen.get(stage, (0, 0))
        return m.historical_fraction(closed, won, configured)[0]

    def win_rate(self, configured: int) -> Fraction:
        """The plain win rate at the freeze; the stage's configured probability while fewer
        than ``MIN_HISTORY`` deals had closed (the historical model's rule)."""
        n = self.won_before + self.lost_before
        if n >= m.MIN_HISTORY:
            return Fraction(self.won_before, n)
        return Fraction(configured, 100)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with index ranges [lo, hi): (row, index) of every index in every range."""
    import numpy as np

    counts = np.maximum(hi - lo, 0)
    rows = np.repeat(np.arange(len(lo)), counts)
    if not len(rows):
        return rows, rows
    starts = np.cumsum(counts) - counts
    k = np.arange(len(rows)) - np.repeat(starts, counts) + np.repeat(lo, counts)
    return rows, k


def remaining_by_stage(h: History) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per open stage index: (win instants, remaining µs) of every win, sorted by the win: for
    each move into a won stage and each open stage the deal was in before it, the time from
    its last entry into that stage to the win."""
    import numpy as np

    n = len(h.m_at)
    if not n:
        return {}
    is_win = h.stage_kind[h.m_stage] == _WON
    wins = np.flatnonzero(is_win)
    if not len(wins):
        return {}
    # the next win at or after each move (in the deal's order), if in the same deal
    j = np.searchsorted(wins, np.arange(n), side="left")
    has = j < len(wins)
    nxt = np.where(has, wins[np.minimum(j, len(wins) - 1)], -1)
    ok = has & (h.m_deal[np.maximum(nxt, 0)] == h.m_deal) & (h.stage_kind[h.m_stage] == _OPEN)
    rows = np.flatnonzero(ok)
    if not len(rows):
        return {}
    # the last entry into each stage before each win: the last row of each (win, stage)
    stages_n = len(h.stage_ids)
    key = nxt[rows] * stages_n + h.m_stage[rows]
    _u, last_rev = np.unique(key[::-1], return_index=True)
    last = rows[len(rows) - 1 - last_rev]
    win_at = h.m_at[nxt[last]]
    remaining = win_at - h.m_at[last]
    out = {}
    for s in np.unique(h.m_stage[last]).tolist():
        sel = h.m_stage[last] == s
        order = np.argsort(win_at[sel], kind="stable")
        out[s] = (win_at[sel][order], remaining[sel][order])
    return out


def known_remaining(
    table: dict[int, tuple[np.ndarray, np.ndarray]], stage: int, at: int
) -> np.ndarray | None:
    """The sorted remaining µs of the wins from ``stage`` known at ``at`` (won at or before
    it); None when fewer than ``MIN_WON_FOR_ESTIMATE``: no estimate from so little."""
    import numpy as np

    if stage not in table:
        return None
    wins, rem = table[stage]
    n = int(np.searchsorted(wins, at, side="right"))
    if n < sc.MIN_WON_FOR_ESTIMATE:
        return None
    return np.sort(rem[:n])


def estimated_close(
    entered: np.ndarray, at: int, remaining: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The estimated close instants (µs) of deals in one stage at ``at`` that entered it at
    ``entered``: entry + the median of the known remaining times at least as long as the deal
    has already waited (an even count: the mean of the middle two, floored to the µs), so
    at age 0 the plain median. Returns (instants, overdue): overdue where no won deal ever
    waited so long."""
    import numpy as np

    age = at - entered
    i = np.searchsorted(remaining, age, side="left")
    n = len(remaining) - i
    overdue = n <= 0
    mid = np.minimum(i + (np.maximum(n, 1) - 1) // 2, len(remaining) - 1)
    upper = np.minimum(mid + 1, len(remaining) - 1)
    median = np.where(n % 2 == 1, remaining[mid], (remaining[mid] + remaining[upper]) // 2)
    return entered + median, overdue


def freeze(
    h: History,
    targets: list[tuple[m.Period, date]],
    *,
    estimate: bool = True,
    kind: str = "quarter",
    window_days: int | None = None,
) -> list[Frozen]:
    """The pipeline frozen for each ``(period, day the forecast is made)`` at that day's
    ``freeze_instant`` (the end of the day before), and the forecast then made for the
    period, all at once. ``targets`` in any order; the result
    in the same order. ``window_days``: learn the historical probabilities only from deals
    closed within that many days before the freeze (``forecast_history``; measured by
    tests/bench/history_window.py)."""
    import numpy as np

    out = [
        Frozen(p, freeze_instant(day), day) for p, day in targets
    ]  # fmt: skip
    if not out:
        return out
    order = sorted(range(len(out)), key=lambda i: out[i].at)
    t_sorted = np.array([out[i].at for i in order], dtype=np.int64)
    nk = len(out)
    n = len(h.m_at)
    if not n:
        return out
    # each move holds from its instant until the deal's next move
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = h.m_deal[1:] == h.m_deal[:-1]
    next_at = np.full(n, _NEVER, dtype=np.int64)
    next_at[:-1] = np.where(same_next[:-1], h.m_at[1:], _NEVER)
    lo = np.searchsorted(t_sorted, np.maximum(h.m_at, h.created[h.m_deal]), side="left")
    hi = np.searchsorted(t_sorted, next_at, side="left")
    kinds = h.stage_kind[h.m_stage]
    n_stages = len(h.stage_ids)

    # closed deals at each freeze: the win rate's counts and each stage's history
    for code, attr in ((_WON, "won_before"), (_LOST, "lost_before")):
        diff = np.zeros(nk + 1, dtype=np.int64)
        sel = kinds == code
        np.add.at(diff, lo[sel], 1)
        np.add.at(diff, hi[sel], -1)
        for pos, count in enumerate(np.cumsum(diff)[:nk].tolist()):
            setattr(out[order[pos]], attr, count)
    if window_days is not None:
        ends = np.searchsorted(t_sorted, h.m_at + window_days * 86_400_000_000, side="left")
        _stage_history(h, lo, np.minimum(hi, ends), kinds, out, order, nk, n_stages)
    else:
        _stage_history(h, lo, hi, kinds, out, order, nk, n_stages)

    # the deals open at each freeze
    open_rows = np.flatnonzero(kinds == _OPEN)
    rows, kpos = _expand(lo[open_rows], hi[open_rows])
    rows = open_rows[rows]
    deal = h.m_deal[rows]
    stage = h.m_stage[rows]
    entered = h.m_at[rows]
    counts = np.bincount(kpos, minlength=nk)
    for pos in range(nk):
        out[order[pos]].open_deals = int(counts[pos])
    # outcomes of the ones that have closed since
    status = h.status[deal]
    done = status != _OPEN
    key = (kpos[done] * n_stages + stage[done]) * 2 + (status[done] == _LOST)
    tally = np.bincount(key, minlength=nk * n_stages * 2).reshape(nk, n_stages, 2)
    for pos in range(nk):
        f = out[order[pos]]
        for s in np.flatnonzero(tally[pos].sum(axis=1)).tolist():
            f.outcomes[s] = [int(tally[pos, s, 0]), int(tally[pos, s, 1])]

    # value, currency and expected close at the freeze
    value = h.value[deal].copy()
    known = h.has_value[deal].copy()
    cur = h.currency[deal].copy()
    close = h.close_day[deal].copy()
    for fname, ch in h.changes.items():
        touched = np.zeros(len(h.deal_ids), dtype=bool)
        touched[ch.deal] = True
        idx = np.flatnonzero(touched[deal])  # the pairs whose deal ever changed the field
        hit, j = ch.before(deal[idx], t_sorted[kpos[idx]])
        idx, j = idx[hit], j[hit]
        if fname == "value_minor":
            value[idx] = ch.old[j]
            known[idx] = ch.known[j]
        elif fname == "currency":
            cur[idx] = ch.old[j]
        else:
            close[idx] = ch.old[j]  # no date: _NO_DAY, as _days reads None

    # which period each deal was expected to close in, as seen at the freeze
    starts = np.array([epoch_day(out[o].period.start) for o in order], dtype=np.int64)
    ends = np.array([epoch_day(out[o].period.end) for o in order], dtype=np.int64)
    current = [m.period_containing(out[o].day, kind) for o in order]
    is_current = np.array([c == out[o].period for c, o in zip(current, order, strict=True)])
    cur_start = np.array([epoch_day(c.start) for c in current], dtype=np.int64)
    dated = close != _NO_DAY
    inside = dated & (close >= starts[kpos]) & (close < ends[kpos])
    inside |= dated & (close < cur_start[kpos]) & is_current[kpos]  # slipped
    est = np.zeros(len(rows), dtype=bool)
    if estimate and (~dated).any():
        est = _estimate(h, out, order, kpos, stage, entered, dated, is_current)
        inside |= est
    for pos in range(nk):
        f = out[order[pos]]
        sel = inside & (kpos == pos)
        f.deals = int(sel.sum())
        f.estimated = int((sel & est).sum())
        for c, n in enumerate(np.bincount(cur[sel], minlength=len(h.currencies)).tolist()):
            if n:
                f.deals_by[h.currencies[c]] = n
        for c, n in enumerate(np.bincount(cur[sel & est], minlength=len(h.currencies)).tolist()):
            if n:
                f.estimated_by[h.currencies[c]] = n
        with_value = np.flatnonzero(sel & known)
        if not len(with_value):
            continue
        # the values grouped by (currency, stage), in one sort
        key = cur[with_value] * n_stages + stage[with_value]
        order_v = np.argsort(key, kind="stable")
        key, vals = key[order_v], value[with_value][order_v]
        cuts = np.flatnonzero(np.diff(key)) + 1
        for part_key, part in zip(key[np.r_[0, cuts]].tolist(), np.split(vals, cuts),
                                  strict=True):  # fmt: skip
            c, s = divmod(part_key, n_stages)
            f.values.setdefault(h.currencies[c], {})[s] = part
    return out


def _stage_history(h, lo, hi, kinds, out, order, nk, n_stages) -> None:  # type: ignore[no-untyped-def]
    """Per freeze and open stage: the deals closed then that had been in it, and how many of
    them were won — ``stage_history_outcomes`` at every freeze at once. A closed move's
    deal counts, while it stays closed, for every open stage it entered before."""
    import numpy as np

    closed_rows = np.flatnonzero((kinds != _OPEN) & (hi > lo))
    if not len(closed_rows):
        return
    # the first entry of each (deal, stage): a visit
    key = h.m_deal * n_stages + h.m_stage
    _u, first = np.unique(key, return_index=True)
    is_first = np.zeros(len(key), dtype=bool)
    is_first[first] = True
    deal_start = np.searchsorted(h.m_deal, h.m_deal[closed_rows], side="left")
    pair, offset = _expand(deal_start, closed_rows)
    visit = offset  # the earlier row of the same deal
    closing = closed_rows[pair]
    keep = is_first[visit] & (h.stage_kind[h.m_stage[visit]] == _OPEN)
    visit, closing = visit[keep], closing[keep]
    won = (kinds[closing] == _WON).astype(np.int64)
    stage = h.m_stage[visit]
    for flag, idx in ((None, 0), (1, 1)):
        diff = np.zeros((nk + 1) * n_stages, dtype=np.int64)
        sel = np.ones(len(stage), dtype=bool) if flag is None else won == 1
        np.add.at(diff, lo[closing[sel]] * n_stages + stage[sel], 1)
        np.add.at(diff, hi[closing[sel]] * n_stages + stage[sel], -1)
        cum = np.cumsum(diff.reshape(nk + 1, n_stages), axis=0)[:nk]
        for pos in range(nk):
            f = out[order[pos]]
            for s in np.flatnonzero(cum[pos]).tolist():
                c, w = f.seen.get(s, (0, 0))
                f.seen[s] = (int(cum[pos, s]), w) if idx == 0 else (c, int(cum[pos, s]))


def _edges(spans: list[m.Period]) -> np.ndarray:
    """The instants contiguous ``spans`` begin at, and the last one's end (local midnights)."""
    import numpy as np

    days = [p.start for p in spans] + [spans[-1].end]
    return np.array([micros(from_local_date(d)) for d in days], dtype=np.int64)


def span_of(when: np.ndarray, overdue: np.ndarray, edges: np.ndarray, current: int) -> np.ndarray:
    """The index of the span (of ``_edges``) each estimated close falls in: -1 before the
    first, ``len(edges) - 1`` after the last; an overdue deal in span ``current`` (-1: not one
    of them). The one placement ``freeze`` and ``forecast`` share."""
    import numpy as np

    return np.where(overdue, current, np.searchsorted(edges, when, side="right") - 1)


def _estimate(h, out, order, kpos, stage, entered, dated, is_current):  # type: ignore[no-untyped-def]
    """Which undated deals an estimated close puts in their freeze's period."""
    import numpy as np

    table = remaining_by_stage(h)
    est = np.zeros(len(kpos), dtype=bool)
    undated = np.flatnonzero(~dated)
    if not len(undated) or not table:
        return est
    group = kpos[undated] * len(h.stage_ids) + stage[undated]
    order_g = np.argsort(group, kind="stable")
    undated, group = undated[order_g], group[order_g]
    bounds = np.flatnonzero(np.diff(group)) + 1
    for part in np.split(undated, bounds):
        pos, s = int(kpos[part[0]]), int(stage[part[0]])
        f = out[order[pos]]
        rem = known_remaining(table, s, f.at)
        if rem is None:
            continue
        when, overdue = estimated_close(entered[part], f.at, rem)
        current = 0 if is_current[pos] else -1
        est[part] = span_of(when, overdue, _edges([f.period]), current) == 0
    return est


# --- the score ----------------------------------------------------------------------------------


def _actuals(h: History, spans: list[m.Period]) -> dict[str, list[int]]:
    """Won value per currency in each of the contiguous ``spans`` (deals won now, by their
    close instant)."""
    import numpy as np

    edges = _edges(spans)
    won = (h.status == _WON) & h.has_value
    idx = np.searchsorted(edges, h.closed, side="right") - 1
    sel = won & (idx >= 0) & (idx < len(spans))
    out: dict[str, list[int]] = {}
    for c, i, v in zip(h.currency[sel].tolist(), idx[sel].tolist(), h.value[sel].tolist(),
                       strict=True):  # fmt: skip
        out.setdefault(h.currencies[c], [0] * len(spans))[i] += v
    return out


@dataclass
class Scored:
    """The figures of each scored period and the deal-level tallies, exact."""

    periods: list[dict[str, Any]]
    currencies: list[str]
    groups: dict[str, list[tuple[Fraction, int, int]]]  # model -> (p, won, lost)
    scored: int


def score_periods(
    h: History,
    spans: list[m.Period],
    *,
    lead: int = 0,
    seed: int = 0,
    estimate: bool = True,
    window_days: int | None = None,
) -> Scored:
    """Freeze the forecast for each of ``spans`` (``lead`` days before its start) and score it
    against what was won."""
    import numpy as np

    kind = spans[0].kind if spans else "quarter"
    targets = [(p, p.start - timedelta(days=lead)) for p in spans]
    frozen = freeze(h, targets, estimate=estimate, kind=kind, window_days=window_days)
    # the won value of every period from three before the earliest freeze to the last
    first = m.period_containing(min(day for _p, day in targets), kind) if targets else None
    ext: list[m.Period] = []
    if first is not None:
        p = first
        for _ in range(sc.BASELINE_PERIODS):
            p = m.period_containing(p.start - timedelta(days=1), kind)
        while p.start < spans[-1].end:
            ext.append(p)
            p = p.next()
    actual = _actuals(h, ext) if ext else {}
    born = h.first_created
    born_day = local_today(_EPOCH + timedelta(microseconds=born)) if born is not None else None
    groups: dict[str, dict[Fraction, list[int]]] = {k: {} for k in sc.PROBABILITY_MODELS}
    rows = []
    currencies: set[str] = set(actual)
    scored = 0
    for f in frozen:
        for s, (won, lost) in f.outcomes.items():
            conf = Fraction(h.stage_prob[s], 100)
            for model, p in (
                ("configured", conf),
                ("historical", f.historical(s, h.stage_prob[s])),
                ("win_rate", f.win_rate(h.stage_prob[s])),
            ):
                g = groups[model].setdefault(p, [0, 0])
                g[0] += won
                g[1] += lost
            scored += won + lost
        row: dict[str, Any] = {
            "period": f.period, "freeze_day": f.day, "open": f.open_deals, "deals": f.deals,
            "estimated": f.estimated, "deals_by": f.deals_by, "estimated_by": f.estimated_by,
            "weighted": {}, "historical": {}, "range": {},
            "actual": {}, "baseline": None,
        }  # fmt: skip
        for cur, by_stage in f.values.items():
            currencies.add(cur)
            by_p: dict[float, list[np.ndarray]] = {}
            w = Fraction(0)
            hist = Fraction(0)
            for s, vs in by_stage.items():
                total = int(vs.sum(dtype=object)) if len(vs) else 0  # exact, whatever the sum
                w += Fraction(total * h.stage_prob[s], 100)
                hist += total * f.historical(s, h.stage_prob[s])
                by_p.setdefault(h.stage_prob[s] / 100, []).append(vs)
            row["weighted"][cur] = w
            row["historical"][cur] = hist
            row["range"][cur] = m.simulate_groups(
                {p: np.concatenate(parts) for p, parts in by_p.items()}, seed=seed
            )
        # the baseline: the three complete periods before the freeze day, once the pipeline
        # existed in all of them
        done = [i for i, p in enumerate(ext) if p.end <= f.day]
        if len(done) >= sc.BASELINE_PERIODS:
            last3 = done[-sc.BASELINE_PERIODS :]
            if born_day is not None and ext[last3[0]].end > born_day:
                row["baseline"] = {c: sc.baseline([actual[c][i] for i in last3]) for c in actual}
        i = ext.index(f.period)
        row["actual"] = {c: actual[c][i] for c in actual}
        rows.append(row)
    cur_list = sorted(currencies)
    for row in rows:
        for key in ("weighted", "historical"):
            row[key] = {c: row[key].get(c, Fraction(0)) for c in cur_list}
        row["range"] = {c: row["range"].get(c, (0, 0, 0)) for c in cur_list}
        row["actual"] = {c: row["actual"].get(c, 0) for c in cur_list}
        if row["baseline"] is not None:
            row["baseline"] = {c: row["baseline"].get(c, Fraction(0)) for c in cur_list}
    return Scored(
        rows,
        cur_list,
        {k: sorted((p, w, lo) for p, (w, lo) in g.items()) for k, g in groups.items()},
        scored,
    )


def _model_pairs(rows: list[dict[str, Any]], model: str, cur: str) -> list[tuple[Any, Any]]:
    out = []
    for r in rows:
        if model == "baseline":
            if r["baseline"] is None:
                continue
            f = r["baseline"][cur]
        elif model == "p50":
            f = r["range"][cur][1]
        else:
            f = r[model][cur]
        out.append((f, r["actual"][cur]))
    return out


#: Fewer periods with a baseline than this: the best model is chosen without it.
MIN_BASELINE_PERIODS = 3


def best_periods(s: Scored) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The periods and models the best model is chosen among, like for like: the periods with
    a baseline (it needs three earlier ones) and every model, once there are at least
    ``MIN_BASELINE_PERIODS`` of them; before, every period and the models but the baseline
    (one lucky period does not make a model best)."""
    common = [r for r in s.periods if r["baseline"] is not None]
    if len(common) >= MIN_BASELINE_PERIODS:
        return common, sc.MODELS
    return s.periods, sc.MODELS[:-1]


def choose_best(s: Scored, cur: str) -> str | None:
    """The model with the lowest WAPE over ``best_periods``; when nothing was won in those,
    over every period without the baseline."""
    rows, models = best_periods(s)
    best = sc.best_model({k: sc.wape(_model_pairs(rows, k, cur)) for k in models})
    if best is None and models == sc.MODELS:
        best = sc.best_model({k: sc.wape(_model_pairs(s.periods, k, cur)) for k in sc.MODELS[:-1]})
    return best


def summary(s: Scored, cur: str) -> dict[str, Any]:
    """WAPE and bias per model, and the P10–P90 coverage, in one currency (exact)."""
    out: dict[str, Any] = {}
    for model in sc.MODELS:
        pairs = _model_pairs(s.periods, model, cur)
        out[model] = {"wape": sc.wape(pairs), "bias": sc.bias(pairs), "periods": len(pairs)}
    out["coverage"] = sc.coverage(
        (r["range"][cur][0], r["range"][cur][2], r["actual"][cur]) for r in s.periods
    )
    return out


def main_currency(s: Scored, fallback: str) -> str:
    """The currency with the most won value over the periods (a tie: the pipeline's own
    currency, then alphabetically)."""
    if not s.currencies:
        return fallback
    totals = {c: sum(r["actual"][c] for r in s.periods) for c in s.currencies}
    return min(s.currencies, key=lambda c: (-totals[c], c != fallback, c))


#: Periods scored by default: two years.
DEFAULT_PERIODS = {"month": 24, "quarter": 8}


def periods_before(day: date, kind: str, n: int) -> list[m.Period]:
    """The ``n`` complete periods before the one containing ``day``, oldest first."""
    p = m.period_containing(day, kind)
    out: list[m.Period] = []
    for _ in range(n):
        p = m.period_containing(p.start - timedelta(days=1), kind)
        out.insert(0, p)
    return out


def default_spans(today: date, kind: str, since: date | None) -> list[m.Period]:
    """The complete periods to score: from the one containing ``since`` (default: the last
    two years, 24 months or 8 quarters) to the last that ended by ``today``."""
    if since is None:
        return periods_before(today, kind, DEFAULT_PERIODS[kind])
    current = m.period_containing(today, kind)
    p = m.period_containing(since, kind)
    out = []
    while p.end <= current.start:
        out.append(p)
        p = p.next()
    return out


def _f(x: Fraction | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def _money(d: dict[str, Any]) -> dict[str, int | float]:
    return {c: major_json(v, c) for c, v in sorted(d.items())}


def score(
    conn: Database,
    now: datetime,
    *,
    kind: str = "quarter",
    since: date | None = None,
    lead: int = 0,
    seed: int = 0,
    estimate: bool = True,
    history: str = "all",
    h: History | None = None,
) -> dict[str, Any]:
    """Every figure of ``pipectl forecast score``. ``history``: ``all``, or the span (``365d``)
    the historical probabilities are learned over before each freeze (``forecast_history``);
    ``h``: the history, when the caller has read it already."""
    from pipectl.services.pipeline import history_days

    today = local_today(now)
    window_days = history_days(history, today)
    spans = default_spans(today, kind, since)
    first = from_local_date(spans[0].start - timedelta(days=lead)) if spans else None
    h = h if h is not None else load(conn, first)
    born = h.first_created
    # a period is scored once the pipeline had begun at its freeze (before, nothing was
    # open to forecast from: a zero that says nothing about the forecast)
    spans = [
        p
        for p in spans
        if born is not None and freeze_instant(p.start - timedelta(days=lead)) >= born
    ]
    s = score_periods(h, spans, lead=lead, seed=seed, estimate=estimate, window_days=window_days)
    home = setting(conn, "currency") or "USD"
    main = main_currency(s, home)
    by_cur = {c: summary(s, c) for c in s.currencies}
    out = _json(s, kind, lead, since, today, main, by_cur, estimate)
    out["history"] = history
    return out


def _json(s, kind, lead, since, today, main, by_cur, estimate) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    periods = []
    for r in s.periods:
        p10 = {c: v[0] for c, v in r["range"].items()}
        p50 = {c: v[1] for c, v in r["range"].items()}
        p90 = {c: v[2] for c, v in r["range"].items()}
        forecasts = {"weighted": r["weighted"], "historical": r["historical"], "p50": p50,
                     "baseline": r["baseline"]}  # fmt: skip
        periods.append(
            {
                "period": r["period"].label,
                "start": r["period"].start,
                "end": r["period"].end - timedelta(days=1),
                "frozen_on": r["freeze_day"],
                "open_deals": r["open"],
                "deals": r["deals"],
                "estimated_deals": r["estimated"],
                "deals_by_currency": {c: r["deals_by"].get(c, 0) for c in sorted(r["actual"])},
                "estimated_by_currency": {
                    c: r["estimated_by"].get(c, 0) for c in sorted(r["actual"])
                },
                "actual": _money(r["actual"]),
                "weighted": _money(r["weighted"]),
                "historical": _money(r["historical"]),
                "p10": _money(p10),
                "p50": _money(p50),
                "p90": _money(p90),
                "baseline": None if r["baseline"] is None else _money(r["baseline"]),
                "errors": {
                    model: None
                    if f is None
                    else _money({c: f[c] - r["actual"][c] for c in r["actual"]})
                    for model, f in forecasts.items()
                },
                "in_range": {c: p10[c] <= r["actual"][c] <= p90[c] for c in sorted(r["actual"])},
            }
        )

    def models(x: dict[str, Any]) -> dict[str, Any]:
        out = {
            k: {"wape": _f(x[k]["wape"]), "bias": _f(x[k]["bias"]), "periods": x[k]["periods"]}
            for k in sc.MODELS
        }
        out["coverage"] = _f(x["coverage"])
        return out

    main_summary = by_cur.get(main)
    summary_out: dict[str, Any] = {"currency": main}
    if main_summary is not None:
        summary_out.update(models(main_summary))
        summary_out["best"] = choose_best(s, main)
        summary_out["best_over"] = [r["period"].label for r in best_periods(s)[0]]
    else:
        summary_out.update({k: {"wape": None, "bias": None, "periods": 0} for k in sc.MODELS})
        summary_out.update({"coverage": None, "best": None, "best_over": []})
    summary_out["by_currency"] = {c: models(v) for c, v in sorted(by_cur.items())}
    return {
        "date": today,
        "period": kind,
        "lead": lead,
        "since": since,
        "estimate": estimate,
        "periods": periods,
        "summary": summary_out,
        "deals": {
            "scored": s.scored,
            "brier": {k: _f(sc.brier(g)) for k, g in s.groups.items()},
            "reliability": {
                k: [
                    {
                        "bucket": b.label,
                        "low": float(b.low),
                        "high": float(b.high),
                        "deals": b.deals,
                        "predicted": _f(b.predicted),
                        "observed": _f(b.observed),
                    }
                    for b in sc.reliability(g)
                ]
                for k, g in s.groups.items()
            },
        },
    }


def check_lead(lead: int) -> None:
    if not 0 <= lead <= 366:
        raise InputError("--lead must be from 0 to 366 days")


# --- what ``forecast`` takes from the record ----------------------------------------------------


def estimator(h: History, at: datetime, spans: list[m.Period]):  # type: ignore[no-untyped-def]
    """For ``forecast`` at instant ``at`` over ``spans``: a function from undated open deals
    ``(value, currency, stage id, entered at)`` to the label of the span of their estimated
    close (overdue ones: the current span, ``spans[0]``), ``"later"`` beyond the last, or None
    where the stage has too few wins to estimate from. The same rule ``freeze`` applies."""
    table = remaining_by_stage(h)
    t = micros(at)
    index = {sid: i for i, sid in enumerate(h.stage_ids)}
    edges = _edges(spans)

    def labels(deals: list[tuple[Any, str, int, str]]) -> list[str | None]:
        out: list[str | None] = [None] * len(deals)
        by_stage: dict[int, list[int]] = defaultdict(list)
        for i, (_v, _c, sid, _e) in enumerate(deals):
            by_stage[index[sid]].append(i)
        for s, idx in by_stage.items():
            rem = known_remaining(table, s, t)
            if rem is None:
                continue
            entered = _instants([deals[i][3] for i in idx])
            when, overdue = estimated_close(entered, t, rem)
            for i, w in zip(idx, span_of(when, overdue, edges, 0).tolist(), strict=True):
                # spans[0] is the current one: nothing estimated lies before it
                out[i] = "later" if w >= len(spans) else spans[max(w, 0)].label
        return out

    return labels


def judge_spans(today: date, kind: str) -> list[m.Period]:
    """The last ``BEST_OF_PERIODS`` complete periods before ``today``'s, oldest first."""
    return periods_before(today, kind, sc.BEST_OF_PERIODS)


def old_enough(first_created: str | None, today: date, kind: str) -> bool:
    """Had the pipeline begun (``store.analytics.first_created``) by the start of the first
    period ``judge`` scores? Before, there is nothing to judge, and no history to read."""
    if first_created is None:
        return False
    start = freeze_instant(judge_spans(today, kind)[0].start)
    return start >= int(_instants([first_created])[0])  # start: a freeze instant


def young(today: date, kind: str, closed: int) -> dict[str, Any]:
    """``judge``'s answer for a pipeline not ``old_enough`` (``closed``: the deals closed in
    those periods)."""
    return {
        "model": None,
        "periods": [s.label for s in judge_spans(today, kind)],
        "closed_deals": closed,
        "wape": dict.fromkeys(sc.MODELS),
        "currency": None,
        "reason": f"the pipeline is younger than {sc.BEST_OF_PERIODS} {kind}s",
        "compared": [],
    }


def judge(
    h: History,
    today: date,
    kind: str,
    seed: int = 0,
    estimate: bool = True,
    window_days: int | None = None,
    home: str = "USD",
) -> dict[str, Any]:
    """Which model forecast this pipeline best over the last ``BEST_OF_PERIODS`` complete
    periods (lowest WAPE, in the currency with most won value, like for like: over
    ``best_periods``, named in ``compared``), when enough deals closed in them
    (``MIN_CLOSED_FOR_BEST``); each model's WAPE over those periods either way."""
    spans = judge_spans(today, kind)
    born = h.first_created
    start, end = micros(from_local_date(spans[0].start)), micros(from_local_date(spans[-1].end))
    closed = int(((h.status != _OPEN) & (h.closed >= start) & (h.closed < end)).sum())
    if born is None or freeze_instant(spans[0].start) < born:
        return young(today, kind, closed)
    out = young(today, kind, closed)
    out["reason"] = None
    s = score_periods(h, spans, seed=seed, estimate=estimate, window_days=window_days)
    cur = main_currency(s, home)
    if not s.currencies:
        out["reason"] = "nothing was forecast or won in them"
        return out
    rows, models = best_periods(s)
    out["wape"] = {
        k: _f(sc.wape(_model_pairs(rows, k, cur))) if k in models else None for k in sc.MODELS
    }
    out["compared"] = [r["period"].label for r in rows]
    out["currency"] = cur
    if closed < sc.MIN_CLOSED_FOR_BEST:
        out["reason"] = (
            f"{closed} deals closed in the last {sc.BEST_OF_PERIODS} {kind}s;"
            f" {sc.MIN_CLOSED_FOR_BEST} are needed to tell the models apart"
        )
        return out
    out["model"] = choose_best(s, cur)
    if out["model"] is None:
        out["reason"] = "nothing was won in them"
    return out


def recent_baseline(h: History, today: date, kind: str) -> dict[str, Fraction]:
    """The naive forecast of a coming period: the mean won value of the last three complete
    periods, per currency."""
    last = periods_before(today, kind, sc.BASELINE_PERIODS)
    return {c: sc.baseline(v) or Fraction(0) for c, v in _actuals(h, last).items()}
