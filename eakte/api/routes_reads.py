"""The access log (Zugriffsprotokoll) of a restricted case, e.g. a personnel file: who read it, how and why."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import Paging
from eakte.services import reads


class AccessLogEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime(metadata={"description": "when (UTC)"})
    username = fields.String()
    display_name = fields.String(allow_none=True)
    action = fields.String(metadata={"description": "read.case, read.procedure, read.document, read.search_hit, "
                                                    "read.export, or an access.* event of recorded-reason access"})
    object_type = fields.String(metadata={"description": "case, procedure, document or access_request"})
    object_id = fields.String()
    reason = fields.String(allow_none=True, metadata={"description": "the recorded reason of the access request "
                                                                     "the access came through or is about"})
    as_ = fields.String(data_key="as", allow_none=True,
                        metadata={"description": "how the reader saw the file: reader, grant, admin, subfile, "
                                                               "subject"})
    access_request_id = fields.Integer(allow_none=True)
    flagged = fields.Boolean(metadata={"description": "an immediate grant (given at once, without a decision)"})
    document_ids = fields.List(fields.Integer(), metadata={"description": "the documents a search hit showed"})
    via = fields.String(allow_none=True, metadata={"description": "how a document was read: details, preview, "
                                                                  "inline, download; a search hit: page or csv"})


class AccessLogOut(Schema):
    items = fields.List(fields.Nested(AccessLogEntryOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


@api.get("/cases/<int:case_id>/access-log")
@api.auth_required(token_auth)
@api.input(Paging, location="query", arg_name="query")
@api.output(AccessLogOut)
@api.doc(summary="The access log of a restricted case (a personnel file), newest first: every read and every "
                 "recorded-reason access; for its readers and its subject (404 for everyone else)")
def case_access_log(case_id: int, query: dict[str, Any]) -> dict[str, Any]:
    found = reads.access_log(current_runtime(), current_actor(), case_id, offset=query["offset"],
                             limit=query["limit"])
    return {"items": found.entries, "total": found.total, "offset": found.offset, "limit": found.limit}
