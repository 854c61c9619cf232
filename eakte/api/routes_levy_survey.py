"""The misallocation levy's API (levy_survey): the survey run from a landlord's list, the runs and their
households, the print batch, reminders. Every rule is the services' (eakte.services.levy.survey)."""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, stream_with_context

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_levy_survey import (RemindersOut, SurveyList, SurveyPageOut, SurveyRunOut, SurveyUpload)
from eakte.presenters import content_disposition
from eakte.services.levy import survey


def _survey_out(summary: survey.SurveySummary) -> dict[str, Any]:
    return dataclasses.asdict(summary)


@api.post("/levy/surveys")
@api.auth_required(token_auth)
@api.input(SurveyUpload, location="form_and_files", arg_name="form")
@api.output(SurveyRunOut, status_code=201)
@api.doc(summary="Run a survey for a landlord's list (multipart: file + landlord, reference_date, period_start, "
                 "period_months, deadline): creates or updates the flats' cases, opens a procedure per household "
                 "with its workflow in Erhebung and files the request letters plus one print batch; clerks of the "
                 "levy unit. A bad list is 422 with every bad line in `errors` (line, column, messages_de), and "
                 "nothing is stored")
def run_survey(form: dict[str, Any]) -> Any:
    rt, actor = current_runtime(), current_actor()
    upload = form["file"]
    request = survey.SurveyRequest(landlord=form["landlord"], reference_date=form["reference_date"],
                                   period_start=form["period_start"], deadline=form["deadline"],
                                   period_months=form["period_months"], source_name=upload.filename or None)
    result = survey.run_survey(rt, actor, request, upload.stream)
    summary = next(s for s in survey.survey_list(rt, actor) if s.id == result.survey_id)
    return {"survey": _survey_out(summary), "households": [dataclasses.asdict(h) for h in result.households],
            "skipped": [p.to_json() for p in result.skipped], "seconds": round(result.seconds, 2)}, 201


@api.get("/levy/surveys")
@api.auth_required(token_auth)
@api.output(SurveyList)
@api.doc(summary="The survey runs, newest first (the levy unit, auditors, admins)")
def list_surveys() -> dict[str, Any]:
    return {"items": [_survey_out(s) for s in survey.survey_list(current_runtime(), current_actor())]}


@api.get("/levy/surveys/<int:survey_id>")
@api.auth_required(token_auth)
@api.output(SurveyPageOut)
@api.doc(summary="One survey run: its households with their step, answered or overdue, and their letters")
def get_survey(survey_id: int) -> dict[str, Any]:
    page = survey.survey_page(current_runtime(), current_actor(), survey_id)
    return {"survey": _survey_out(page.survey), "households": [dataclasses.asdict(h) for h in page.households],
            "answered": page.answered, "overdue": page.overdue}


@api.get("/levy/surveys/<int:survey_id>/print-batch")
@api.auth_required(token_auth)
@api.doc(summary="The print batch of a survey run: every request letter in one PDF/A, streamed",
         responses={200: {"description": "the print batch", "content": {"application/pdf": {}}}})
def get_print_batch(survey_id: int) -> Response:
    batch = survey.print_batch(current_runtime(), current_actor(), survey_id)
    return Response(stream_with_context(batch.chunks), mimetype="application/pdf", direct_passthrough=True,
                    headers={"Content-Disposition": content_disposition(batch.filename),
                             "Content-Length": str(batch.size), "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "private, no-store"})


@api.post("/levy/surveys/reminders")
@api.auth_required(token_auth)
@api.output(RemindersOut)
@api.doc(summary="Send a reminder (new deadline: today + reminder_days) to every household still in Erhebung "
                 "whose deadline has passed and that has had none; clerks of the levy unit")
def send_reminders() -> dict[str, Any]:
    return {"sent": survey.send_reminders(current_runtime(), current_actor())}
