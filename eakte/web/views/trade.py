"""The trade register (Gewerberegister) in the browser: the register list, a business's page (its entry, history,
notifications), the notification form (a paper GewA 1–3 typed in), a notification's page with the hold form, the
authority's own deregistration, register extracts, the outbox and the retrieval log.

Every rule is the services' (eakte.services.trade): the form builds the payload and calls the intake; a refused
field comes back named and is shown at its control. The steps are decided on the task page (Postkorb)."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from eakte.clock import office_today
from eakte.errors import Conflict, EakteError, Invalid
from eakte.presenters import content_disposition
from eakte.services import documents
from eakte.services.trade import extracts, intake, outbox, queries
from eakte.web.auth import current_actor, current_principal, login_required
from eakte.web.case_type_roles import case_type_nav_visible, case_type_roles
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.forms import PlainForm
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from eakte.web.views import trade_forms as tf
from eakte.web.views.cases import metadata_groups
from eakte.web.views.schema import current_label
from workflows.definition import CaseType
from workflows.trade.case_type import BUSINESS_TYPES, STATUSES
from workflows.trade.entry import LABELS_DE
from workflows.trade.notification import LEGAL_FORMS, REASONS

bp = Blueprint("trade", __name__)
PAGE_SIZE = 25
LOG_PAGE_SIZE = 50

NOTIFICATION_WORDS: dict[str, Callable[[], str]] = {
    "anmeldung": lambda: _("Gewerbeanmeldung (GewA 1)"),
    "ummeldung": lambda: _("Gewerbeummeldung (GewA 2)"),
    "abmeldung": lambda: _("Gewerbeabmeldung (GewA 3)"),
}
STATUS_WORDS: dict[str, Callable[[], str]] = {
    "pending": lambda: _("angezeigt, noch nicht eingetragen"),
    "active": lambda: _("angemeldet"),
    "closed": lambda: _("abgemeldet"),
}
TYPE_WORDS: dict[str, Callable[[], str]] = {
    "industrie": lambda: _("Industrie"), "handwerk": lambda: _("Handwerk"), "handel": lambda: _("Handel"),
    "sonstiges": lambda: _("Sonstiges"),
}
ESTABLISHMENT_WORDS: dict[str, Callable[[], str]] = {
    "hauptniederlassung": lambda: _("Hauptniederlassung"),
    "zweigniederlassung": lambda: _("Zweigniederlassung"),
    "unselbstaendige_zweigstelle": lambda: _("Unselbständige Zweigstelle"),
}
ROLE_WORDS: dict[str, Callable[[], str]] = {
    "owner": lambda: _("Inhaber/in"), "partner": lambda: _("Gesellschafter/in"),
    "manager": lambda: _("Geschäftsführung / vertretungsberechtigte Person"),
}
TRANSMISSION_WORDS: dict[str, Callable[[], str]] = {
    "pending": lambda: _("ausstehend"), "sent": lambda: _("versandt"), "confirmed": lambda: _("bestätigt"),
    "failed": lambda: _("fehlgeschlagen"),
}
WORKFLOW_WORDS: dict[str, Callable[[], str]] = {
    "running": lambda: _("in Bearbeitung"), "completed": lambda: _("abgeschlossen"),
    "rejected": lambda: _("zurückgewiesen"),
}
SOURCE_WORDS: dict[str, Callable[[], str]] = {
    "api": lambda: _("Schnittstelle"), "web": lambda: _("Papieranzeige, im Formular erfasst"),
    "import": lambda: _("Import"), "ex_officio": lambda: _("von Amts wegen"),
}
REQUESTER_WORDS: dict[str, Callable[[], str]] = {
    "private": lambda: _("Privatperson oder Unternehmen"), "public": lambda: _("Öffentliche Stelle"),
}
EXTRACT_WORDS: dict[str, Callable[[], str]] = {
    "simple": lambda: _("einfache Auskunft"), "extended": lambda: _("erweiterte Auskunft"),
}
_LEGAL_FORM_LABELS = dict(LEGAL_FORMS)


def word(words: dict[str, Callable[[], str]], key: Any) -> str:
    label = words.get(str(key)) if key is not None else None
    return label() if label else ("" if key is None else str(key))


def _options(words: dict[str, Callable[[], str]], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(k, word(words, k)) for k in keys]


def _trade_type() -> CaseType:
    return intake.trade_type(runtime())


def _trade_roles() -> frozenset[str]:
    return case_type_roles("trade")


@bp.app_template_global("trade_nav_visible")
def trade_nav_visible() -> bool:
    return case_type_nav_visible("trade")


def _is_clerk() -> bool:
    return "clerk" in _trade_roles()


def _may_read_log() -> bool:
    p = current_principal()
    return p is not None and (p.is_admin or p.is_auditor or bool(_trade_roles() & set(extracts.CHECKING_ROLES)))


def _may_read_outbox() -> bool:
    p = current_principal()
    return p is not None and (p.is_admin or p.is_auditor or bool(_trade_roles()))


@bp.app_template_global("trade_value")
def trade_value(name: str, value: Any) -> str:
    """An entry's value as the pages show it (keys as words, dates as dates, the persons by name)."""
    from eakte.web.i18n import fmt_date
    if name == "permits" and value == []:
        return _("keine")  # given as none (a GewA 2 ending every permit), not left unsaid
    if value in (None, "", []):
        return "–"
    if isinstance(value, bool):
        return _("Ja") if value else _("Nein")
    if name == "persons" and isinstance(value, list):
        return "; ".join(", ".join(x for x in (str(p.get("family_name") or ""), str(p.get("given_names") or "")) if x)
                         for p in value if isinstance(p, dict)) or "–"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if name == "legal_form":
        return _LEGAL_FORM_LABELS.get(str(value), str(value))
    if name == "business_type":
        return word(TYPE_WORDS, value)
    if name == "establishment":
        return word(ESTABLISHMENT_WORDS, value)
    if name == "status":
        return word(STATUS_WORDS, value)
    if name in ("started_on", "closed_on", "received_on", "effective_on", "birth_date"):
        return fmt_date(str(value))
    return str(value)


@bp.app_template_global("trade_field_label")
def trade_field_label(name: str) -> str:
    return tf.field_label(name) if name in tf.LABELS else LABELS_DE.get(name, name)


def step_word(summary: queries.NotificationSummary) -> str:
    """The notification's current step in the page's language."""
    return current_label(summary.step_label_de or "", summary.step_label_en or "") or (summary.step or "")


def _recipient_names() -> dict[str, str]:
    """Recipient key → the configured name; a key no longer in the table stays as it is."""
    return outbox.recipient_names(_trade_type().settings)


def _words() -> dict[str, Any]:
    names = _recipient_names()
    return {"step_word": step_word, "recipient_name": lambda key: names.get(str(key), str(key)),
            "notification_word": lambda k: word(NOTIFICATION_WORDS, k), "status_word": lambda k: word(STATUS_WORDS, k),
            "type_word": lambda k: word(TYPE_WORDS, k), "transmission_word": lambda k: word(TRANSMISSION_WORDS, k),
            "workflow_word": lambda k: word(WORKFLOW_WORDS, k), "source_word": lambda k: word(SOURCE_WORDS, k),
            "role_word": lambda k: word(ROLE_WORDS, k), "requester_word": lambda k: word(REQUESTER_WORDS, k),
            "extract_word": lambda k: word(EXTRACT_WORDS, k)}


def _crumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Gewerberegister"), url_for("trade.index")), *more]


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


# --- the register -------------------------------------------------------------------------------------------

@bp.get("/gewerbe")
@login_required
def index() -> str:
    given = {k: (request.args.get(k) or "").strip() for k in ("q", "status", "type", "activity")}
    flt = queries.BusinessFilter(q=given["q"] or None,
                                 status=given["status"] if given["status"] in STATUSES else None,
                                 business_type=given["type"] if given["type"] in BUSINESS_TYPES else None,
                                 activity=given["activity"] or None)
    number = page_number()
    rows, total = queries.list_businesses(runtime(), current_actor(), flt, offset=(number - 1) * PAGE_SIZE,
                                          limit=PAGE_SIZE)
    return render_template("trade/index.html", rows=rows, page=page_of(total, PAGE_SIZE, number), given=given,
                           statuses=_options(STATUS_WORDS, STATUSES), types=_options(TYPE_WORDS, BUSINESS_TYPES),
                           is_clerk=_is_clerk(), may_read_log=_may_read_log(), may_read_outbox=_may_read_outbox(),
                           breadcrumbs=[(_("Gewerberegister"), None)], **_words())


@bp.get("/gewerbe/<int:case_id>")
@login_required
def show(case_id: int) -> tuple[str, int]:
    return _business_view(case_id)


def _business_view(case_id: int, ex_officio_form: dict[str, str] | None = None,
                   ex_officio_errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    page = queries.business_page(runtime(), current_actor(), case_id)
    persons = list((page.current.data if page.current is not None else {}).get("persons") or [])
    active = page.row.status == "active" and page.case.status == "open"
    errors = ex_officio_errors or {}
    return render_template("trade/show.html", page=page, case=page.case, row=page.row, persons=persons,
                           metadata_groups=metadata_groups(_trade_type(), page.case.metadata_ or {}),
                           may_notify=_is_clerk() and page.may_change and active, is_clerk=_is_clerk(),
                           entered=page.current is not None, ex_officio_form=ex_officio_form or {},
                           ex_officio_errors=errors, ex_officio_summary=list(errors.items()),
                           breadcrumbs=_crumbs((page.row.registered_name or page.case.reference, None)),
                           **_words()), status


# --- the notification form ----------------------------------------------------------------------------------

def _business_of(case_id: int | None) -> queries.BusinessPage | None:
    return queries.business_page(runtime(), current_actor(), case_id) if case_id is not None else None


def _form_page(form: tf.NotificationForm, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    business = _business_of(form.case_id)
    labels = tf.control_labels(form)
    case_type = _trade_type()
    permit_rules = case_type.settings.get("permits") or []
    title = word(NOTIFICATION_WORDS, form.kind)
    crumbs = _crumbs(*([(business.row.registered_name or business.case.reference,
                         url_for("trade.show", case_id=business.case.id))] if business else []), (title, None))
    return render_template("trade/form.html", form=form, errors=errors, summary=tf.summary(errors, labels),
                           labels=labels, business=business, title=title, cid=tf.control_id,
                           effective_label=tf.effective_label(form.kind),
                           reasons=list(REASONS.get(form.kind, ())), legal_forms=list(LEGAL_FORMS),
                           types=_options(TYPE_WORDS, BUSINESS_TYPES),
                           establishments=_options(ESTABLISHMENT_WORDS, tuple(ESTABLISHMENT_WORDS)),
                           roles=_options(ROLE_WORDS, tuple(ROLE_WORDS)),
                           yes_no=[("ja", _("Ja")), ("nein", _("Nein"))],
                           permits=[(str(r["permit"]), str(r.get("label_de") or r["permit"])) for r in permit_rules],
                           breadcrumbs=crumbs, **_words()), status


@bp.get("/gewerbe/anzeige/neu")
@login_required
def new() -> tuple[str, int]:
    kind = request.args.get("art", "anmeldung")
    if kind not in tf.KINDS:
        kind = "anmeldung"
    raw = (request.args.get("betrieb") or "").strip()
    case_id = int(raw) if raw.isdigit() and kind != "anmeldung" else None
    business = _business_of(case_id)
    form = tf.NotificationForm.fresh(kind, case_id=case_id,
                                     business_id=business.row.business_id if business else "",
                                     today=office_today().isoformat())
    return _form_page(form, {})


def _scan() -> FileStorage | None:
    storage = request.files.get("scan")
    return storage if storage is not None and (storage.filename or storage.content_length) else None


@bp.post("/gewerbe/anzeige")
@login_required
def create() -> Response | tuple[str, int]:
    form = tf.NotificationForm.from_form(request.form)
    if request.form.get("action") == "add_person":
        return _form_page(form.with_another_person(), {})
    _csrf_checked()
    built = tf.build_payload(form)
    known = tf.known_controls(form)
    rt, actor = runtime(), current_actor()
    try:
        result = intake.submit_notification(rt, actor, built.payload, source="web")
    except Invalid as exc:
        errors = {**tf.field_errors(exc, known), **built.errors}
        return _form_page(form, errors, 422)
    procedure = result.procedure
    storage = _scan()
    if storage is not None:
        try:
            documents.add_document(rt, actor, result.case.id, documents.NewDocument(
                word(NOTIFICATION_WORDS, form.kind) + " " + _("(Scan)"), "notification", procedure_id=procedure.id),
                documents.Upload(storage.stream, storage.filename or "", storage.mimetype or None))
        except EakteError as exc:
            if exc.status not in (409, 413, 415, 422):
                raise
            flash(_("Die Anzeige wurde erfasst, der Scan aber nicht abgelegt: %(reason)s Bitte laden Sie ihn im "
                    "Vorgang hoch.", reason=error_message(exc)), "warning")
            return redirect(url_for("trade.notification", procedure_id=procedure.id), code=303)
    flash(_("Die Anzeige %(reference)s wurde erfasst (Betriebsnummer %(id)s). Die Prüfung wartet im Postkorb.",
            reference=procedure.reference, id=(result.case.metadata_ or {}).get("business_id", "")), "success")
    return redirect(url_for("trade.notification", procedure_id=procedure.id), code=303)


# --- a notification -----------------------------------------------------------------------------------------

def _notification_page(procedure_id: int, hold_form: dict[str, str] | None = None,
                       hold_errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    page = queries.notification_page(runtime(), current_actor(), procedure_id)
    case = page.case
    name = (case.metadata_ or {}).get("registered_name") or case.reference
    may_hold = _is_clerk() and page.summary.step == intake.HOLD_STEP and page.summary.hold is None
    hold_errors = hold_errors or {}
    data = page.data
    shown = [(k, data[k]) for k in (*tf.DATES, "reason", "ex_officio", *tf.TEXTS, *tf.CHOICES, *tf.YES_NO,
                                    *tf.COUNTS, "permits") if k in data and k not in ("business_id",)]
    return render_template("trade/notification.html", page=page, case=case, procedure=page.procedure,
                           s=page.summary, data=data, shown=shown, persons=list(data.get("persons") or []),
                           reasons=dict(REASONS.get(str(data.get("notification")), ())),
                           may_hold=may_hold, may_resume=_is_clerk() and page.summary.hold is not None,
                           hold_form=hold_form or {}, hold_errors=hold_errors,
                           hold_summary=list(hold_errors.items()),
                           breadcrumbs=_crumbs((name, url_for("trade.show", case_id=case.id)),
                                               (page.procedure.reference, None)), **_words()), status


@bp.get("/gewerbe/anzeigen/<int:procedure_id>")
@login_required
def notification(procedure_id: int) -> tuple[str, int]:
    return _notification_page(procedure_id)


_HOLD_FIELDS = {"missing": "hold-missing", "follow_up_on": "hold-follow_up_on", "note": "hold-note"}


@bp.post("/gewerbe/anzeigen/<int:procedure_id>/zurueckstellen")
@login_required
def hold(procedure_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in _HOLD_FIELDS}
    missing = [line.strip() for line in form["missing"].splitlines() if line.strip()]
    due = form_date(form["follow_up_on"]) if form["follow_up_on"] else None
    errors: dict[str, str] = {}
    if due is None:
        errors[_HOLD_FIELDS["follow_up_on"]] = _("Bitte geben Sie das Datum der Wiedervorlage an (TT.MM.JJJJ).")
    if not errors and due is not None:
        try:
            intake.hold(runtime(), current_actor(), procedure_id, missing, due, form["note"])
        except (Invalid, Conflict) as exc:
            field = str(exc.extra.get("field") or "")
            if isinstance(exc, Conflict) and not field:
                flash(error_message(exc), "error")
                return redirect(url_for("trade.notification", procedure_id=procedure_id), code=303)
            errors[_HOLD_FIELDS.get(field, _HOLD_FIELDS["missing"])] = error_message(exc)
    if errors:
        return _notification_page(procedure_id, form, errors, 422)
    flash(_("Die Anzeige ist zurückgestellt; die Wiedervorlage ist gesetzt."), "success")
    return redirect(url_for("trade.notification", procedure_id=procedure_id), code=303)


@bp.post("/gewerbe/anzeigen/<int:procedure_id>/fortsetzen")
@login_required
def resume(procedure_id: int) -> Response:
    _csrf_checked()
    try:
        intake.resume(runtime(), current_actor(), procedure_id)
    except Conflict as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Die Zurückstellung ist beendet; die Prüfung kann weitergehen."), "success")
    return redirect(url_for("trade.notification", procedure_id=procedure_id), code=303)


# --- the authority's own deregistration (§ 14 Abs. 4 GewO) -------------------------------------------------

@bp.post("/gewerbe/<int:case_id>/abmeldung-von-amts-wegen")
@login_required
def ex_officio(case_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("effective_on", "reason_text")}
    day = form_date(form["effective_on"]) if form["effective_on"] else None
    errors: dict[str, str] = {}
    if day is None:
        errors["ex-officio-effective_on"] = _("Bitte geben Sie das Datum der Aufgabe an (TT.MM.JJJJ).")
    else:
        try:
            result = intake.ex_officio_deregistration(runtime(), current_actor(), case_id, day, form["reason_text"])
        except Invalid as exc:
            field = str(exc.extra.get("field") or "")
            errors["ex-officio-effective_on" if field == "effective_on" else "ex-officio-reason_text"] = \
                error_message(exc)
        else:
            flash(_("Die Abmeldung von Amts wegen %(reference)s wurde erfasst.",
                    reference=result.procedure.reference), "success")
            return redirect(url_for("trade.notification", procedure_id=result.procedure.id), code=303)
    return _business_view(case_id, form, errors, 422)


# --- extracts -----------------------------------------------------------------------------------------------

_EXTRACT_FIELDS = ("requester", "requester_kind", "interest", "purpose", "reference")


def _extract_page(case_id: int, kind: str = "", form: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    page = queries.business_page(runtime(), current_actor(), case_id)
    errors = errors or {}
    return render_template("trade/extract.html", page=page, case=page.case, row=page.row, kind=kind,
                           form=form or {}, errors=errors, summary=list(errors.items()), is_clerk=_is_clerk(),
                           entered=page.current is not None,
                           requester_kinds=_options(REQUESTER_WORDS, extracts.REQUESTER_KINDS),
                           breadcrumbs=_crumbs((page.row.registered_name or page.case.reference,
                                                url_for("trade.show", case_id=case_id)), (_("Auskunft"), None)),
                           **_words()), status


@bp.get("/gewerbe/<int:case_id>/auskunft")
@login_required
def extract_form(case_id: int) -> tuple[str, int]:
    return _extract_page(case_id)


@bp.post("/gewerbe/<int:case_id>/auskunft")
@login_required
def extract(case_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    kind = request.form.get("kind", "simple")
    kind = kind if kind in extracts.KINDS else "simple"
    form = {k: (request.form.get(f"{kind}-{k}") or "").strip() for k in _EXTRACT_FIELDS}
    ask = extracts.ExtractRequest(requester=form["requester"] or None, requester_kind=form["requester_kind"] or None,
                                  interest=form["interest"] or None, purpose=form["purpose"] or None,
                                  reference=form["reference"] or None)
    try:
        filename, pdf = extracts.extract(runtime(), current_actor(), case_id, kind, ask)
    except Invalid as exc:
        field = str(exc.extra.get("field") or "interest")
        return _extract_page(case_id, kind, form, {f"{kind}-{field}": error_message(exc)}, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("trade.extract_form", case_id=case_id), code=303)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": content_disposition(filename), "Content-Length": str(len(pdf)),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


# --- the outbox and the retrieval log -----------------------------------------------------------------------

@bp.get("/gewerbe/postausgang")
@login_required
def outbox_index() -> str:
    status = request.args.get("status", "")
    status = status if status in outbox.STATUSES else ""
    overdue = request.args.get("overdue") == "1"
    flt = outbox.OutboxFilter(status=status or None, overdue=overdue)
    rt, actor = runtime(), current_actor()
    number = page_number()
    total = outbox.outbox_count(rt, actor, flt)
    rows = outbox.outbox_page(rt, actor, flt, offset=(number - 1) * LOG_PAGE_SIZE, limit=LOG_PAGE_SIZE)
    return render_template("trade/outbox.html", rows=rows, page=page_of(total, LOG_PAGE_SIZE, number),
                           status=status, overdue=overdue, statuses=_options(TRANSMISSION_WORDS, outbox.STATUSES),
                           breadcrumbs=_crumbs((_("Postausgang"), None)), **_words())


def _outbox_step(transmission_id: int, step: Callable[[], object], done: str) -> Response:
    _csrf_checked()
    try:
        step()
    except Conflict as exc:
        flash(error_message(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for("trade.outbox_index"), code=303)


@bp.post("/gewerbe/uebermittlungen/<int:transmission_id>/wiederholen")
@login_required
def retry(transmission_id: int) -> Response:
    return _outbox_step(transmission_id, lambda: outbox.retry(runtime(), current_actor(), transmission_id),
                        _("Die Übermittlung wird erneut gesendet."))


@bp.post("/gewerbe/uebermittlungen/<int:transmission_id>/bestaetigen")
@login_required
def confirm(transmission_id: int) -> Response:
    return _outbox_step(transmission_id, lambda: outbox.confirm(runtime(), current_actor(), transmission_id),
                        _("Der Empfang der Übermittlung ist bestätigt."))


@bp.get("/gewerbe/abrufe")
@login_required
def retrievals() -> str:
    kind = request.args.get("art", "")
    kind = kind if kind in extracts.KINDS else ""
    number = page_number()
    rows, total = extracts.retrievals(runtime(), current_actor(), extracts.RetrievalFilter(kind=kind or None),
                                      offset=(number - 1) * LOG_PAGE_SIZE, limit=LOG_PAGE_SIZE)
    months = int(_trade_type().settings.get("retrieval_log_months") or 6)
    return render_template("trade/retrievals.html", rows=rows, page=page_of(total, LOG_PAGE_SIZE, number),
                           kind=kind, kinds=_options(EXTRACT_WORDS, extracts.KINDS), months=months,
                           breadcrumbs=_crumbs((_("Abrufprotokoll"), None)), **_words())
