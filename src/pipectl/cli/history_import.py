"""``pipectl import FILE --what history``: a file of stage history rebuilds the stage moves of
the deals it names (``services/history.py``). The ``import`` command (``cli/transfer.py``)
parses the options and calls ``run``.

The file is read and checked in full before the write lock is taken; the deals are then
resolved, rebuilt and written in one write transaction: all or nothing, even if the process
is interrupted half-way. ``--dry-run`` runs the same checks and rebuild in a read
transaction and reports what the write would do.
"""

from __future__ import annotations

from pathlib import Path

from pipectl.cli import common
from pipectl.errors import INTERRUPTED, InputError, PipectlError


def run(
    *,
    file: Path,
    stage_map: dict[str, str],
    dayfirst: bool | None,
    encoding: str | None,
    dry_run: bool,
    skip_invalid: bool,
    as_json: bool,
    crm: str | None,
    playbook: bool = True,
) -> None:
    """Import a file of stage history. ``stage_map``: {their normalised stage name: our
    stage name, or won or lost} (``--stage-map``); ``dayfirst``: True, False or None (the
    file decides); ``crm``: ``--from`` (pipedrive, hubspot, salesforce) or None."""
    from pipectl.cli.transfer import _Interrupts
    from pipectl.core import history
    from pipectl.io.tabular import read_table
    from pipectl.render import history as view
    from pipectl.render import output
    from pipectl.services import history as service

    mode = output.pick_mode(as_json)
    sheet = read_table(file, encoding)
    now = common.now()
    from pipectl.core.crm import profiles

    usual = {key: p.dayfirst for key, p in profiles().items()}
    got = history.read(
        sheet.headers, sheet.rows, now=now, dayfirst=dayfirst, crm=crm, usual_order=usual
    )
    crm_names = crm or history.BY_KEY[got.shape].crm
    interrupts = _Interrupts()
    with common.reading() as conn:
        if dry_run:
            with conn.transaction(write=False):
                given = service.stage_names(conn, stage_map, crm_names)
                plan = service.plan(conn, got, given)
            view.report(plan, mode, dry_run=True, encoding=sheet.encoding)
            return
        with interrupts.installed(), conn.transaction(write=True):
            given = service.stage_names(conn, stage_map, crm_names)
            plan = service.plan(conn, got, given, lock=True)
            if plan.rejected and not skip_invalid:
                view.report(plan, mode, dry_run=False, encoding=sheet.encoding, aborted=True)
                raise InputError(
                    f"import aborted, nothing written: {len(plan.rejected):,} of"
                    f" {got.rows:,} rows rejected (see the report; --skip-invalid imports"
                    " the other deals' history)"
                )
            service.write(conn, plan, now, playbook=playbook)
            interrupts.hold()
    view.report(plan, mode, dry_run=False, encoding=sheet.encoding)
    if interrupts.pending:
        raise PipectlError(
            "interrupted as the import was being saved; it was saved (see the report)",
            exit_code=INTERRUPTED,
        )
