"""The levy's terms, shared by the case type and its rules (no imports of the other modules)."""
from __future__ import annotations

HEATING = ("stove", "central")  # Ofenheizung | Sammelheizung: splits the build years up to 1948
HEATING_LABELS = {"stove": "Ofenheizung", "central": "Sammelheizung"}
MIETENSTUFEN = ("I", "II", "III", "IV", "V", "VI", "VII")
# Transfer benefits: when every occupant receives one, no levy is due (FBAG §2, guideline of 05.01.2022).
BENEFITS = ("wohngeld", "buergergeld", "grundsicherung", "sozialhilfe", "asylbewerberleistungen")
BENEFIT_LABELS = {"wohngeld": "Wohngeld", "buergergeld": "Bürgergeld", "grundsicherung": "Grundsicherung",
                  "sozialhilfe": "Hilfe zum Lebensunterhalt", "asylbewerberleistungen": "Leistungen nach dem AsylbLG"}

# Document kinds.
SURVEY_LETTER_KIND = "survey_letter"      # Erhebungsschreiben (generated)
REMINDER_KIND = "reminder"                # Erinnerung (generated)
INCOME_EVIDENCE_KIND = "income_evidence"  # Einkommensnachweis (uploaded by the clerk)
NOTICE_KIND = "notice"                    # Festsetzungs-, Änderungs-, Aufhebungsbescheid (generated)
OBJECTION_KIND = "objection"              # Widerspruchsschreiben (uploaded)
OBJECTION_DECISION_KIND = "objection_decision"  # Abhilfe/Vorlage an die Widerspruchsbehörde (generated)

NOTICE_KINDS = ("assessment", "change", "cancellation")  # Festsetzung | Änderung (§8) | Aufhebung (§8)
NOTICE_LABELS = {"assessment": "Festsetzungsbescheid", "change": "Änderungsbescheid",
                 "cancellation": "Aufhebungsbescheid"}
ASSESSMENT_KINDS = ("initial", "change", "remedy")
OBJECTION_STATUSES = ("open", "remedied", "rejected")
