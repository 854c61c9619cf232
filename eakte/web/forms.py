"""The fixed forms of the web interface (Flask-WTF: every form carries its CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from eakte.services.logins import LOCALES


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token: for buttons that POST (logout, claim, close)."""


class LoginForm(FlaskForm):
    username = StringField(_l("Benutzername"), validators=[DataRequired(_l("Bitte geben Sie Ihren Benutzernamen ein.")),
                                                        Length(max=100)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")),
                                                         Length(max=1000)])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Sprache"), choices=list(LOCALES))
