"""Pipeline settings and the stage process: small writes, one transaction each, on either
engine (the SQL is ``store/settings.py``'s)."""

from __future__ import annotations

import json
from datetime import date

from pipectl.core.fields import BY_NAME
from pipectl.core.money import normalize_currency
from pipectl.core.stages import reserved_name, validate_probability, validate_stale_days
from pipectl.core.states import Status
from pipectl.errors import InputError, NotFound
from pipectl.store import queries
from pipectl.store import settings as q
from pipectl.store.engine import Database

# --- settings ----------------------------------------------------------------------------

#: Settings a user may change, with what each means (shown by ``pipectl config``).
SETTINGS = {
    "currency": "default currency for new deals (ISO code)",
    "owner": "default owner of new deals",
    "date_order": "how to read 3/4/2026: mdy (US, default) or dmy",
    "followup_interval": "next follow-up offered after 'log' (default 2w)",
    "forecast_commit": "forecast: 'commit' holds deals in stages at or above this % (default 80)",
    "forecast_best": "forecast: 'best case' holds deals at or above this % (default 50)",
    "forecast_history": "forecast: learn historical probabilities from deals closed in this"
    " span before (e.g. 365d; default all)",
}

#: A stage name's and an exit question's longest length.
MAX_STAGE_NAME = 60
MAX_QUESTION = 300


def settings_report(values: dict[str, str], key: str | None = None) -> dict[str, dict[str, object]]:
    """Every setting (or ``key`` alone) → its ``value`` in effect, its ``default``, whether it
    is ``set`` in this pipeline, and what it ``means``: ``config``'s view and JSON."""
    keys = [key] if key is not None else list(SETTINGS)
    return {
        k: {
            "value": values.get(k, queries.SETTING_DEFAULTS[k]),
            "default": queries.SETTING_DEFAULTS[k],
            "set": k in values,
            "meaning": SETTINGS[k],
        }
        for k in keys
    }


def _check_setting(key: str, value: str) -> str:
    if key == "currency":
        return normalize_currency(value)
    if key == "date_order":
        v = value.strip().lower()
        if v not in ("mdy", "dmy"):
            raise InputError("date_order is mdy or dmy")
        return v
    if key in ("forecast_commit", "forecast_best"):
        v = value.strip().rstrip("%")
        if not (v.isascii() and v.isdigit() and len(v) <= 3) or not 0 <= int(v) <= 100:
            raise InputError(f"{key} is a percentage from 0 to 100")
        return str(int(v))
    if key == "followup_interval":
        return check_interval(value)
    if key == "forecast_history":
        return check_history(value)
    v = " ".join(value.split())
    if not v:
        raise InputError(f"{key} cannot be empty (use --unset to remove it)")
    if key == "owner":
        BY_NAME["owner"].check(v)
    return v


def check_interval(value: str) -> str:
    """A follow-up interval as stored (``2w``): a duration ``core.dates`` reads (at most 100
    years, so that its end lies within the dates a pipeline holds: ``add_duration`` refuses
    ``9999y`` with one InputError, never an overflow)."""
    from datetime import date

    from pipectl.core.dates import add_duration

    v = value.strip().lower().lstrip("+")
    add_duration(v, date(2000, 1, 1))
    return v


def check_history(value: str) -> str:
    """``all``, or a span such as ``365d``, ``52w``, ``12m`` (``forecast_history``)."""
    v = value.strip().lower()
    return "all" if v == "all" else check_interval(v)


def history_days(value: str | None, today: date) -> int | None:
    """``forecast_history`` (or ``--history``) as days back from ``today``; None for all."""
    from pipectl.core.dates import parse_duration_days

    v = check_history(value or "all")
    return None if v == "all" else parse_duration_days(v, today)


def set_setting(conn: Database, key: str, value: str | None) -> None:
    if key not in SETTINGS:
        raise NotFound(f"no setting {key!r} (settings: {', '.join(SETTINGS)})")
    if value is None and key == "currency":
        raise InputError("the default currency cannot be removed, only changed")
    checked = None if value is None else _check_setting(key, value)
    with conn.transaction():
        if checked is None:
            q.delete_setting(conn, key)
        else:
            q.put_setting(conn, key, checked)


# --- stages ------------------------------------------------------------------------------


def check_stage_name(name: str, kind: str = Status.OPEN) -> str:
    """A stage name as stored, for a stage of ``kind``."""
    n = " ".join(name.split())
    if not n:
        raise InputError("a stage name cannot be empty")
    if n.isdigit():
        raise InputError("a stage name cannot be a number")
    if len(n) > MAX_STAGE_NAME:
        raise InputError(f"stage name too long: {len(n)} characters (at most {MAX_STAGE_NAME})")
    why = reserved_name(n, kind)
    if why:
        raise InputError(why)
    return n


def _check_unique(conn: Database, name: str, except_id: int | None = None) -> None:
    row = q.stage_named(conn, name)
    if row and row[0] != except_id:
        raise InputError(f"there is already a stage {row[1]!r}")


def _place(stages: list[queries.StageRow], moving: int | None, position: int) -> list[int]:
    open_ids = [s.id for s in stages if s.kind == Status.OPEN and s.id != moving]
    closed_ids = [s.id for s in stages if s.kind != Status.OPEN]
    if not 1 <= position <= len(open_ids) + 1:
        raise InputError(f"position must be from 1 to {len(open_ids) + 1}")
    if moving is not None:
        open_ids.insert(position - 1, moving)
    return open_ids + closed_ids


def add_stage(
    conn: Database,
    name: str,
    probability: int,
    stale_days: int | None,
    *,
    after: str | None = None,
    questions: list[str] | None = None,
    in_transaction: bool = False,
) -> queries.StageRow:
    """Add an open stage (in its own transaction, or the caller's with ``in_transaction``)."""
    if in_transaction:
        return _add_stage(conn, name, probability, stale_days, after, questions)
    with conn.transaction():
        return _add_stage(conn, name, probability, stale_days, after, questions)


def _add_stage(
    conn: Database,
    name: str,
    probability: int,
    stale_days: int | None,
    after: str | None,
    questions: list[str] | None,
) -> queries.StageRow:
    name = check_stage_name(name)
    validate_probability(probability)
    validate_stale_days(stale_days)
    _check_unique(conn, name)
    stages = queries.stages(conn)
    open_stages = [s for s in stages if s.kind == Status.OPEN]
    position = len(open_stages) + 1
    if after:
        ref = queries.find_stage(conn, after)
        if ref.kind != Status.OPEN:
            raise InputError("new stages go among the open stages, before won and lost")
        position = open_stages.index(ref) + 2
    new_id = q.insert_stage(
        conn, name, probability, stale_days, json.dumps(_questions(questions or []))
    )
    q.renumber(conn, _place(stages, new_id, position))
    return _by_id(conn, new_id)


def _questions(questions: list[str]) -> list[str]:
    out = [" ".join(q.split()) for q in questions]
    if any(not q for q in out):
        raise InputError("an exit question cannot be empty")
    for text in out:
        if len(text) > MAX_QUESTION:
            raise InputError(
                f"exit question too long: {len(text)} characters (at most {MAX_QUESTION})"
            )
    return out


def rename_stage(conn: Database, old: str, new: str) -> queries.StageRow:
    with conn.transaction():
        stage = queries.find_stage(conn, old)
        new = check_stage_name(new, stage.kind)
        _check_unique(conn, new, stage.id)
        q.rename_stage(conn, stage.id, new)
    return _by_id(conn, stage.id)


def _by_id(conn: Database, stage_id: int) -> queries.StageRow:
    return next(s for s in queries.stages(conn) if s.id == stage_id)


def reorder_stage(conn: Database, name: str, position: int) -> queries.StageRow:
    with conn.transaction():
        stage = queries.find_stage(conn, name)
        if stage.kind != Status.OPEN:
            raise InputError(f"{stage.name} is a closing stage; it stays at the end")
        q.renumber(conn, _place(queries.stages(conn), stage.id, position))
    return _by_id(conn, stage.id)


def set_stage(
    conn: Database,
    name: str,
    *,
    probability: int | None = None,
    stale_days: int | None = None,
    clear_stale: bool = False,
    questions: list[str] | None = None,
) -> queries.StageRow:
    with conn.transaction():
        stage = queries.find_stage(conn, name)
        if probability is not None:
            validate_probability(probability)
            if (stage.kind == Status.WON and probability != 100) or (
                stage.kind == Status.LOST and probability
            ):
                raise InputError(f"{stage.name} is a closing stage; its probability is fixed")
            q.set_probability(conn, stage.id, probability)
        if stale_days is not None or clear_stale:
            validate_stale_days(stale_days)
            q.set_stale_days(conn, stage.id, None if clear_stale else stale_days)
        if questions is not None:
            q.set_exit_questions(conn, stage.id, json.dumps(_questions(questions)))
    return _by_id(conn, stage.id)
