"""The SQL form of the stale-claim rule (`access.claim_binds`, used by the inbox) looks at the task's own claimant
and the absent colleague's units only: a claim does not start to count because someone else, on some other task,
holds a claim in that unit (the subqueries once failed to correlate with the task row)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from eakte.models import Deputy, Task
from tests.workflows.test_deputies_escalation import (  # noqa: F401 (env is a fixture)
    TODAY,
    env,
    inbox,
    invoice_at_sachlich,
    task_ids,
)
from tests.workflows.test_escalation_and_stale_claims import _claim_counts_py, _claim_counts_sql
from tests.workflows.test_invoice_flow import decide


def test_a_stale_claim_stays_stale_while_colleagues_hold_claims_in_the_unit(env) -> None:
    rt, town, client = env
    _, stale_task = invoice_at_sachlich(client, town)
    _, held_task = invoice_at_sachlich(client, town, "01.02a-INVOICE_ubl.xml")
    # ute (approver of 32) claims one task: that claim binds, the others in 32 neither see nor take it.
    assert client.post(f"/api/v1/tasks/{held_task}/claim", headers=town.auth("ute")).status_code == 204
    assert _claim_counts_sql(rt, held_task) and _claim_counts_py(rt, held_task)
    assert held_task not in task_ids(inbox(client, town, "otto"))
    # kurt (a clerk of 20, no member of 32) holds a claim on the other through a self-made appointment by otto,
    # stored before the rule that such an appointment gives nothing outside the units both are members of.
    with rt.db.write() as session:
        session.add(Deputy(user_id=town.user_ids["otto"], deputy_id=town.user_ids["kurt"], starts_on=TODAY,
                           ends_on=TODAY + dt.timedelta(days=4), by_admin=False))
        session.execute(update(Task).where(Task.id == stale_task).values(claimed_by=town.user_ids["kurt"]))
    # kurt may not act on it, so his claim does not count, in SQL as in Python ...
    assert not _claim_counts_py(rt, stale_task)
    assert not _claim_counts_sql(rt, stale_task)
    assert client.post(f"/api/v1/tasks/{stale_task}/claim", headers=town.auth("kurt")).status_code in (403, 404)
    assert decide(client, town, "kurt", stale_task, "approve").status_code in (403, 404)
    # ... and the task stays in the unit's inboxes (ute's claim elsewhere changes nothing), shown as claimable.
    for name in ("otto", "hans"):
        box = inbox(client, town, name)
        assert stale_task in task_ids(box) and held_task not in task_ids(box)
        assert [t["claimed_by"] for t in box["items"] if t["id"] == stale_task] == [None]
    assert stale_task not in task_ids(inbox(client, town, "kurt"))
    with rt.db.read() as session:
        assert session.execute(select(Task.claimed_by).where(Task.id == stale_task)).scalar() == \
            town.user_ids["kurt"]
