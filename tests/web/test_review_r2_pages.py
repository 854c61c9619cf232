"""Review r2: the verification start and the extraction retry refuse a POST without CSRF token (a forged
request from another site), before anything is recorded."""
from __future__ import annotations

from sqlalchemy import select

from eakte.models import AuditEvent


def test_verification_start_without_csrf_token_is_refused(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    assert admin.post("/verification/audit", data={}).status_code == 400
    assert admin.post("/admin/status/extractions/1/retry", data={}).status_code == 400
    with rt.db.read() as session:
        assert session.execute(select(AuditEvent).where(AuditEvent.action.in_(
            ("audit.verify_started", "document.extraction_retry")))).first() is None


def test_password_limit_not_reset_by_forwarded_for_headers(signed_in, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import PASSWORD, post_form
    new = "a much longer passphrase"
    anna = signed_in("anna")
    limit = int(app.extensions["eakte"].settings.web.login_limit_per_user.split()[0])
    for i in range(limit):
        resp = post_form(anna, "/settings/password", {"current_password": "wrong", "new_password": new,
                                                      "new_password_repeat": new},
                         headers={"X-Forwarded-For": f"10.9.{i}.1", "X-Real-IP": f"10.8.{i}.1"})
        assert resp.status_code == 422
    resp = post_form(anna, "/settings/password", {"current_password": PASSWORD, "new_password": new,
                                                  "new_password_repeat": new},
                     headers={"X-Forwarded-For": "10.7.7.7"})
    assert resp.status_code == 429
