"""An insider's attacks on the invoice approval chain (review of issue 8, points 1-6). Each test asserts the
secure behaviour: the ones marked ATTACK fail while the hole is open; the others document attacks that are held."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from eakte.clock import utcnow
from eakte.models import Task
from eakte.services import identity, workflow
from tests.conftest import OPERATOR
from tests.helpers import create_case
from tests.workflows.test_deputies_escalation import (  # noqa: F401 (env is a fixture)
    TODAY,
    appointed_anyway,
    deputies,
    env,
    inbox,
    invoice_at_sachlich,
    task_ids,
)
from tests.workflows.test_frozen_fields import CHAIN, OTHER_IBAN, TYPED, export, paid, paper_invoice, patch, walk
from tests.workflows.test_invoice_flow import decide, my_task


def ret(client, town, user: str, case_id: int, target: str, reason: str = "Korrektur"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case_id}/workflow/return", headers=town.auth(user),
                       json={"target": target, "reason": reason})


def current_step(client, town, case_id: int) -> str | None:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/cases/{case_id}/workflow", headers=town.auth("anna")).get_json()["current_step"]


# --- ATTACK: the correction path jumps forward --------------------------------------------------------------

def test_attack_return_jumps_forward_past_sachlich_and_pays_an_unconfirmed_iban(env) -> None:
    """anna (receipt + finance clerk of the Kämmerei) sends the invoice back from "rechnerisch" to "eingang" with
    the ordinary return decision (this voids otto's "sachlich richtig"), types a new IBAN and amount, and then
    "returns" the case to `rechnerisch` — a step the case has not passed since — skipping the ordering unit's
    confirmation. Nobody re-confirms the new IBAN/amount sachlich, and the payment export pays them."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:2])  # eingang (anna), sachlich (otto)
    at_rechnerisch = my_task(client, town, "anna", case_id)
    assert at_rechnerisch["step"] == "rechnerisch"
    assert decide(client, town, "anna", at_rechnerisch["id"], "return", "Rückfrage").status_code == 200
    assert current_step(client, town, case_id) == "eingang"
    # sachlich is voided: the fields are open again for the receipt clerk.
    assert patch(client, town, case_id, {"iban": OTHER_IBAN, "amount_due": "9999.00"}).status_code == 200
    jumped = ret(client, town, "anna", case_id, "rechnerisch", "weiter")
    # Secure behaviour: a "return" goes back, never forward past a step whose decision was voided.
    assert jumped.status_code == 422, jumped.get_json()
    assert current_step(client, town, case_id) == "eingang"


def test_attack_return_skips_the_anordnung_after_the_cash_office_sent_it_back(env) -> None:
    """The cash office returns the invoice to the Anordnung (its approval is voided); an approver of the ordering
    unit then "returns" it to `zahlung` — forward — and the workflow completes without any valid Anordnung."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:4])
    t = my_task(client, town, "kurt", case_id)
    assert decide(client, town, "kurt", t["id"], "return", "Betrag prüfen").status_code == 200
    assert current_step(client, town, case_id) == "anordnung"
    jumped = ret(client, town, "ute", case_id, "zahlung", "passt doch")
    assert jumped.status_code == 422, jumped.get_json()
    assert current_step(client, town, case_id) == "anordnung"


def test_attack_after_skipping_sachlich_the_approved_iban_is_not_frozen(env) -> None:
    """Consequence of the forward jump: with sachlich voided and skipped, nothing freezes the IBAN any more, even
    after the Anordnung (the export then refuses; but the PATCH itself must be refused as after every
    Anordnung)."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:2])
    t = my_task(client, town, "anna", case_id)
    assert decide(client, town, "anna", t["id"], "return", "Rückfrage").status_code == 200
    if ret(client, town, "anna", case_id, "rechnerisch", "weiter").status_code != 200:
        return  # the jump is refused: nothing further to show
    walk(client, town, case_id, [("anna", "rechnerisch", "approve"), ("ute", "anordnung", "approve")])
    changed = patch(client, town, case_id, {"iban": OTHER_IBAN})
    assert changed.status_code == 409, changed.get_json()


def test_attack_forward_jump_end_to_end_pays_what_sachlich_never_confirmed(env) -> None:
    """The whole walk-around: otto confirmed IBAN A and 119.00; anna returns, types IBAN B and 4,999.00, jumps
    to rechnerisch, approves it herself; ute orders, kurt releases; the pain.001 pays B 4,999.00 although no
    valid "sachlich richtig" exists for the case."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:2])
    t = my_task(client, town, "anna", case_id)
    assert decide(client, town, "anna", t["id"], "return", "Rückfrage").status_code == 200
    assert patch(client, town, case_id, {"iban": OTHER_IBAN, "amount_due": "4999.00"}).status_code == 200
    if ret(client, town, "anna", case_id, "rechnerisch", "weiter").status_code == 200:
        walk(client, town, case_id, [("anna", "rechnerisch", "approve"), ("ute", "anordnung", "approve"),
                                     ("kurt", "zahlung", "release")])
        with rt.db.read() as session:
            valid_sachlich = session.execute(select(Task.id).where(
                Task.case_id == case_id, Task.step == "sachlich", Task.status == "done",
                Task.voided_at.is_(None))).scalars().all()
        resp = export(client, town)
        paid_out = paid(client, town, resp.get_json()) if resp.status_code == 201 else []
        # Secure behaviour: no payment of values no valid "sachlich richtig" confirmed.
        assert (OTHER_IBAN, "4999.00") not in paid_out, (valid_sachlich, paid_out)


# --- ATTACK: escalation opens the case to the whole target unit ---------------------------------------------

def test_attack_escalation_opens_the_case_to_every_member_of_the_target_unit(env) -> None:
    """A memo of the Kämmerei escalates to the head of the Hauptamt (10, head_of_unit). hugo, a plain clerk of the
    Hauptamt and no escalation target, can nevertheless open the case (title, metadata, documents, audit)."""
    rt, town, client = env
    case = create_case(client, town.auth("anna"), title="Vorlage Haushalt vertraulich", case_type="memo")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("hugo")).status_code == 404
    assert workflow.escalate_overdue(rt, utcnow() + dt.timedelta(days=2)) == 1
    assert my_task(client, town, "leiter", case["id"])["escalated"] is True  # the target sees it: fine
    for path in (f"/api/v1/cases/{case['id']}", f"/api/v1/cases/{case['id']}/workflow",
                 f"/api/v1/cases/{case['id']}/audit"):
        resp = client.get(path, headers=town.auth("hugo"))
        assert resp.status_code == 404, (path, resp.status_code)


# --- held: four-eyes across returns ---------------------------------------------------------------------------

def test_held_four_eyes_counts_voided_decisions(env) -> None:
    """mia confirms sachlich, returns the case from the Anordnung to sachlich herself, confirms again: she still
    cannot do rechnerisch or the Anordnung of the same invoice."""
    rt, town, client = env
    case_id, sachlich = invoice_at_sachlich(client, town)
    assert decide(client, town, "mia", sachlich, "approve").status_code == 200
    assert decide(client, town, "mia", my_task(client, town, "mia", case_id)["id"], "approve").status_code == 403
    assert decide(client, town, "anna", my_task(client, town, "anna", case_id)["id"], "approve").status_code == 200
    assert ret(client, town, "mia", case_id, "sachlich").status_code == 200
    assert decide(client, town, "mia", my_task(client, town, "mia", case_id)["id"], "approve").status_code == 200
    rechnerisch = my_task(client, town, "mia", case_id)
    assert rechnerisch["step"] == "rechnerisch"
    assert decide(client, town, "mia", rechnerisch["id"], "approve").status_code == 403
    assert decide(client, town, "anna", rechnerisch["id"], "approve").status_code == 200
    refused = decide(client, town, "mia", my_task(client, town, "mia", case_id)["id"], "approve")
    assert refused.status_code == 403 and "four-eyes" in refused.get_json()["detail"]


def test_held_return_needs_a_right_on_the_current_task(env) -> None:
    """Nobody voids decisions of a case they cannot act on now: not the earlier deciders, not another unit."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:3])  # at anordnung (approvers of 32)
    for user in ("anna", "kurt", "bernd", "olga", "hugo"):
        resp = ret(client, town, user, case_id, "eingang")
        assert resp.status_code in (403, 404), (user, resp.status_code)
    assert current_step(client, town, case_id) == "anordnung"


def test_held_frozen_after_sachlich_for_paper_invoices_also_against_blanking(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:2])
    for change in ({"iban": ""}, {"iban": None}, {"amount_due": " 119.01 "}, {"currency": "USD"},
                   {"seller_name": "Bau GmbH "}, {"ordering_unit": "10"}):
        resp = patch(client, town, case_id, change)
        if change == {"seller_name": "Bau GmbH "}:
            assert resp.status_code == 200  # normalises to the same value: no change
            continue
        assert resp.status_code == 409, (change, resp.get_json())


def test_held_export_pays_the_reapproved_values_after_a_cash_office_return(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:4])
    t = my_task(client, town, "kurt", case_id)
    assert decide(client, town, "kurt", t["id"], "return", "Betrag prüfen").status_code == 200
    assert export(client, town).status_code == 409  # running again: nothing to pay
    assert patch(client, town, case_id, {"iban": OTHER_IBAN}).status_code == 409  # sachlich still holds
    walk(client, town, case_id, CHAIN[3:])
    info = export(client, town).get_json()
    assert paid(client, town, info) == [(TYPED["iban"], TYPED["amount_due"])]


def test_held_rejected_invoice_is_not_exported(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:3])
    t = my_task(client, town, "ute", case_id)
    assert decide(client, town, "ute", t["id"], "reject", "nicht bestellt").status_code == 200
    assert export(client, town).status_code == 409


# --- held: deputies -----------------------------------------------------------------------------------------

def test_held_deputyship_is_not_transitive(env) -> None:
    """ute (approver in 32) names olga (clerk in 32); olga names oskar (clerk in 32): oskar gets olga's clerk
    role at most, not ute's approval right."""
    rt, town, client = env
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, "oskar", roles=[identity.UnitRole("32", "clerk")],
                                    known_roles=rt.registry.roles)
        town.tokens["oskar"] = identity.issue_token(session, OPERATOR, user)
    case_id, sachlich = invoice_at_sachlich(client, town)
    assert deputies(client, town, "ute", "olga").status_code == 200
    assert deputies(client, town, "olga", "oskar").status_code == 200
    assert sachlich in task_ids(inbox(client, town, "olga"))
    assert sachlich not in task_ids(inbox(client, town, "oskar"))
    assert decide(client, town, "oskar", sachlich, "approve").status_code == 403


def test_held_no_self_or_reversed_period_or_cross_unit_renaming(env) -> None:
    rt, town, client = env
    assert deputies(client, town, "otto", "otto").status_code == 422
    assert deputies(client, town, "otto", "ute", start=TODAY, end=TODAY - dt.timedelta(days=1)).status_code == 422
    # A clerk cannot use /users/<name>/deputies to appoint for someone else.
    assert deputies(client, town, "olga", "olga", path="/api/v1/users/otto/deputies").status_code == 403
    # Nor list a cross-unit deputy among same-unit ones.
    assert deputies(client, town, "otto", "ute", "kurt").status_code == 403


def test_held_only_admins_change_accounts(env) -> None:
    rt, town, client = env
    for method, path in (("post", "/api/v1/users/otto/deactivate"), ("delete", "/api/v1/users/otto/tokens"),
                         ("delete", "/api/v1/users/anna/roles/20/clerk"), ("post", "/api/v1/users/otto/activate")):
        resp = getattr(client, method)(path, headers=town.auth("anna"))
        assert resp.status_code == 403, (path, resp.status_code)
    assert client.get("/api/v1/me", headers=town.auth("otto")).status_code == 200


# --- held: escalation stays on its task ---------------------------------------------------------------------

def test_held_escalation_target_acts_only_on_the_escalated_task(env) -> None:
    rt, town, client = env
    first = create_case(client, town.auth("anna"), title="Vorlage A", case_type="memo")
    assert workflow.escalate_overdue(rt, utcnow() + dt.timedelta(days=2)) == 1
    second = create_case(client, town.auth("anna"), title="Vorlage B", case_type="memo")
    fresh = my_task(client, town, "anna", second["id"])["id"]
    assert fresh not in task_ids(inbox(client, town, "leiter"))
    assert client.post(f"/api/v1/tasks/{fresh}/claim", headers=town.auth("leiter")).status_code == 404
    assert decide(client, town, "leiter", fresh, "ok").status_code == 404
    assert ret(client, town, "leiter", second["id"], "pruefen").status_code == 404
    assert my_task(client, town, "leiter", first["id"])["escalated"] is True


# --- held: personnel files in search -----------------------------------------------------------------------

def test_held_deputy_of_personnel_staff_finds_no_personnel_file(env) -> None:
    rt, town, client = env
    appointed_anyway(rt, town, client, "paula", "hugo")
    personnel = create_case(client, town.auth("paula"), unit="11", plan="11.01",
                            title="Personalakte Erika Mustermann", case_type="personnel_file")
    for path in ("/api/v1/search?q=Mustermann", "/api/v1/cases?title_contains=Mustermann",
                 f"/api/v1/cases?reference={personnel['reference']}", "/api/v1/inbox?case_type=personnel_file"):
        resp = client.get(path, headers=town.auth("hugo"))
        assert resp.status_code == 200, path
        text = resp.get_data(as_text=True)
        assert "Mustermann" not in text and personnel["reference"] not in text, path
        assert "personnel_file" not in text or path.startswith("/api/v1/inbox"), path  # no facet or count
    with rt.db.read() as session:
        task = session.execute(select(Task.id).where(Task.case_id == personnel["id"])).scalar_one()
    for resp in (client.post(f"/api/v1/tasks/{task}/claim", headers=town.auth("hugo")),
                 ret(client, town, "hugo", personnel["id"], "pruefen"),
                 client.get(f"/api/v1/cases/{personnel['id']}/audit", headers=town.auth("hugo"))):
        assert resp.status_code == 404 and "Mustermann" not in resp.get_data(as_text=True)


# --- ATTACK: a deputy's claim outlives the deputyship -------------------------------------------------------

def test_attack_expired_deputy_keeps_the_task_claimed_away_from_its_unit(env) -> None:
    """kurt (Kämmerei), appointed by an admin as otto's deputy, claims otto's "sachlich" task on the last day of
    the absence. When the period ends he may no longer act, yet the claim stays: the Ordnungsamt's approvers no
    longer see the task and cannot decide it ("claimed by kurt"), until kurt (or an admin) releases it."""
    from eakte.clock import set_clock
    from tests.workflows.test_deputies_escalation import NOW
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    assert deputies(client, town, "admin", "kurt", path="/api/v1/users/otto/deputies",
                    end=TODAY).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 204
    set_clock(lambda: NOW + dt.timedelta(days=1))  # the deputyship is over
    assert decide(client, town, "kurt", task_id, "approve").status_code in (403, 404)  # held: he cannot decide
    # Secure behaviour: the task is the unit's again, without waiting for kurt (or an admin) to release it.
    assert task_id in task_ids(inbox(client, town, "ute"))
    done = decide(client, town, "ute", task_id, "approve")
    assert done.status_code == 200, done.get_json()


# --- ATTACK (lower severity): the approved e-invoice itself can be replaced --------------------------------

def test_attack_invoice_document_replaced_by_a_new_version_after_approval(env) -> None:
    """After "sachlich richtig" (and the Anordnung) the receipt clerk uploads a new version of the e-invoice
    document: another supplier's XML with another IBAN and amount. The case metadata and the payment stay as
    approved, but the record's current invoice no longer is what was approved, and the approvers and auditors
    opening it see the replacement. What a decided step confirmed should be fixed here too."""
    import io
    from tests.workflows.test_invoice_flow import XR, intake
    rt, town, client = env
    case_id = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]["id"]
    assert patch(client, town, case_id, {"ordering_unit": "32"}).status_code == 200
    walk(client, town, case_id, CHAIN[:4])
    doc = client.get(f"/api/v1/cases/{case_id}/documents", headers=town.auth("anna")).get_json()["items"][0]
    other = (XR / "01.02a-INVOICE_ubl.xml").read_bytes()
    resp = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=town.auth("anna"),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(other), "01.01a-INVOICE_ubl.xml")})
    assert resp.status_code == 409, resp.get_json()
