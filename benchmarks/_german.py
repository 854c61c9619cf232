"""Generated German administrative text for benchmarks: sentences of municipal vocabulary with a Zipf-like word
distribution, compounds, names, amounts, dates and references, and a long tail of rare words (as real files
have: surnames, street names, typos), so that the index has a realistic number of distinct terms.

Deterministic for a given `random.Random`. Not meant to read well, only to have the statistics of real text.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

FUNCTION_WORDS = (
    "der die das und in den von zu mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er "
    "hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur "
    "bis mehr durch man sowie gemäß bereits hiermit wurde wurden diese dieser dieses kann können soll sollen "
    "muss müssen ihre ihr ihnen Ihnen Sie wir uns unser unsere unter ohne gegen innerhalb seit vom bzw. ggf. "
    "insbesondere hierzu hierbei daher jedoch sofern soweit wenn weil damit dabei hierfür entsprechend").split()

NOUNS = (
    "Antrag Anträge Bescheid Bescheide Rechnung Rechnungen Frist Fristen Stadt Magistrat Stadtverwaltung Kämmerei "
    "Ordnungsamt Bauamt Standesamt Bürgerbüro Sozialamt Personalamt Hauptamt Gewerbe Gewerbeanmeldung "
    "Gewerbeabmeldung Gewerbeummeldung Baugenehmigung Bauantrag Bauanträge Bauvoranfrage Widerspruch Widersprüche "
    "Widerspruchsfrist Widerspruchsbescheid Gebühr Gebühren Gebührenbescheid Verwaltungsgebühr Abgabe "
    "Fehlbelegungsabgabe Grundsteuer Gewerbesteuer Hundesteuer Zweitwohnungsteuer Vergnügungsteuer Haushalt "
    "Haushaltsstelle Haushaltsjahr Kostenstelle Sachkonto Zahlung Zahlungen Zahlungsfrist Mahnung Mahnungen "
    "Vollstreckung Säumniszuschlag Stundung Ratenzahlung Erstattung Anhörung Stellungnahme Beteiligung "
    "Genehmigung Auflage Auflagen Nebenbestimmung Verfügung Vermerk Aktenvermerk Schreiben Anlage Anlagen "
    "Unterlagen Nachweis Nachweise Bescheinigung Urkunde Geburtsurkunde Eheurkunde Sterbeurkunde Eheschließung "
    "Personenstand Meldebescheinigung Personalausweis Reisepass Führungszeugnis Dienstreise Reisekosten "
    "Personalakte Beurteilung Arbeitsvertrag Stellenbesetzung Stellenausschreibung Dienstvereinbarung "
    "Personalrat Beschluss Beschlussvorlage Stadtverordnetenversammlung Ausschuss Sitzung Niederschrift "
    "Tagesordnung Vergabe Ausschreibung Angebot Angebote Auftrag Auftragnehmer Auftraggeber Lieferung Leistung "
    "Leistungen Vertrag Verträge Kündigung Mietvertrag Pachtvertrag Grundstück Flurstück Gemarkung Bebauungsplan "
    "Flächennutzungsplan Bauleitplanung Erschließung Straße Straßen Straßenreinigung Winterdienst Abwasser "
    "Abwassergebühr Abfall Müllabfuhr Friedhof Grabstätte Kindertagesstätte Betreuungsplatz Elternbeitrag Schule "
    "Schulträger Feuerwehr Brandschutz Ordnungswidrigkeit Bußgeld Bußgeldbescheid Verwarnung Sondernutzung "
    "Sondernutzungserlaubnis Parkausweis Veranstaltung Genehmigungsverfahren Verfahren Prüfung Vorprüfung "
    "Rechnungsprüfung Rechnungsprüfungsamt Zuständigkeit Zuständigkeiten Sachbearbeitung Sachbearbeiterin "
    "Sachbearbeiter Bürgermeister Bürgermeisterin Erster Stadtrat Dezernat Fachbereich Fachdienst Abteilung "
    "Eingang Ausgang Posteingang Rückfrage Rücksprache Termin Termine Datum Betrag Beträge Summe Nettobetrag "
    "Bruttobetrag Umsatzsteuer Mehrwertsteuer Skonto Rabatt Lieferant Rechnungsnummer Bestellnummer Leitweg-ID "
    "Bankverbindung Kontoinhaber Verwendungszweck Überweisung Einzahlung Auszahlung Kasse Stadtkasse Buchung "
    "Buchungen Jahresabschluss Wirtschaftsplan Zuwendung Zuwendungsbescheid Förderung Fördermittel Verwendungsnachweis "
    "Datenschutz Akteneinsicht Auskunft Einwilligung Vollmacht Betreuung Wohnung Wohnungen Wohnberechtigungsschein "
    "Mieter Mieterin Vermieter Miete Einkommen Einkommensnachweis Haushaltsgröße Sozialwohnung Belegung "
    "Fehlbelegung Ausgleichszahlung Einspruch Klage Verwaltungsgericht Rechtsbehelfsbelehrung Rechtsgrundlage "
    "Satzung Verordnung Gesetz Paragraph Absatz Ziffer Nummer Jahr Monat Woche Tag Tage Quartal").split()

VERBS = (
    "beantragt beantragen genehmigt genehmigen erteilt erteilen geprüft prüfen festgesetzt festsetzen erhoben "
    "erheben erstattet erstatten zurückgewiesen zurückweisen abgelehnt ablehnen eingereicht einreichen vorgelegt "
    "vorlegen übersandt übersenden mitgeteilt mitteilen gebeten bitten angehört anhören beschlossen beschließen "
    "angeordnet anordnen überwiesen überweisen gezahlt zahlen gemahnt mahnen gestundet stunden beauftragt "
    "beauftragen geliefert liefern abgerechnet abrechnen gebucht buchen weitergeleitet weiterleiten bestätigt "
    "bestätigen nachgereicht nachreichen vervollständigt ergänzt ergänzen eingegangen eingehen entschieden "
    "entscheiden aufgehoben aufheben verlängert verlängern befristet unbefristet zugestellt zustellen").split()

ADJECTIVES = (
    "fristgerecht vollständig unvollständig zuständig zuständige zuständigen erforderlich erforderliche "
    "erforderlichen sofortig sofortige rechtskräftig bestandskräftig vorläufig vorläufige endgültig endgültige "
    "städtisch städtische städtischen öffentlich öffentliche öffentlichen schriftlich schriftliche mündlich "
    "monatlich jährlich vierteljährlich gesetzlich gesetzliche baurechtlich gewerberechtlich haushaltsrechtlich "
    "sachlich rechnerisch richtig ordnungsgemäß ordnungsgemäße zulässig unzulässig begründet unbegründet "
    "neue neuen bisherige bisherigen beigefügte beigefügten genannte genannten oben folgende folgenden").split()

SURNAMES = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein "
    "Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Schmitz Krause "
    "Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz "
    "Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann "
    "Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer "
    "Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch "
    "Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Yılmaz Kaya Demir Nowak Kowalski Rossi Papadopoulos").split()

STREETS = ("Frankfurter Straße", "Hugenottenallee", "Bahnhofstraße", "Schulgasse", "Luisenstraße", "Kirchstraße",
           "Rathausplatz", "Waldstraße", "Offenbacher Straße", "Friedensallee", "Gartenstraße", "Ludwigstraße",
           "Marktplatz", "Birkengrund", "Am Trieb", "Isenburger Weg", "Carl-Ulrich-Straße", "Zeppelinstraße")

FIRST_PARTS = ("Haushalts Gewerbe Bau Straßen Personal Verwaltungs Gebühren Zahlungs Bürger Sozial Miet Grund "
               "Kinder Schul Feuerwehr Friedhofs Abwasser Abfall Steuer Förder Vergabe Vertrags Melde Pass Reise "
               "Dienst Stellen Akten Rechts Sitzungs Beschluss Wohn Energie Sanierungs Jugend Senioren "
               "Integrations Kultur Sport Park Verkehrs Umwelt Wasser Vermessungs Kataster Planungs").split()
LAST_PARTS = ("antrag bescheid frist gebühr stelle akte plan vertrag ordnung verfahren nachweis prüfung "
              "bescheinigung meldung änderung verwaltung behörde amt kasse konto buchung abrechnung satzung "
              "erlaubnis genehmigung auflage vermerk vorlage beschluss abgabe steuer zuschuss mittel kosten "
              "leistung vergabe maßnahme berechnung festsetzung anhörung register").split()

SYLLABLES = ("ba be bi bo bu da de di do du fa fe fi fo ga ge gi go ha he hi ho ka ke ki ko la le li lo lu ma "
             "me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu wa we wi wo "
             "za ze zi zo ber den fel gen hau kel ler man mer ner ster tal wald dorf feld stein burg bach").split()

TYPE_PHRASES = {
    "invoice": ("Bitte überweisen Sie den Rechnungsbetrag innerhalb von 30 Tagen auf das angegebene Konto.",
                "Die Rechnung wurde sachlich und rechnerisch richtig geprüft.",
                "Zahlbar ohne Abzug, bei Zahlung innerhalb von 14 Tagen gewähren wir 2 % Skonto."),
    "permit": ("Antrag auf Erteilung einer Baugenehmigung nach § 65 HBO.",
               "Die Bauvorlagen sind unvollständig, bitte reichen Sie die fehlenden Unterlagen nach.",
               "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden."),
    "trade": ("Gewerbeanmeldung nach § 14 GewO für den Betrieb eines stehenden Gewerbes.",
              "Die Gewerbeummeldung wurde an die zuständigen Stellen weitergeleitet.",
              "Eine Erlaubnis nach § 34c GewO ist für diese Tätigkeit erforderlich."),
    "levy": ("Festsetzung der Fehlbelegungsabgabe nach dem Hessischen Wohnraumfördergesetz.",
             "Bitte legen Sie den Einkommensnachweis aller Haushaltsangehörigen vor.",
             "Die Ausgleichszahlung wird monatlich zusammen mit der Miete erhoben."),
    "personnel": ("Vertraulich: Personalakte, Einsicht nur durch das Personalamt.",
                  "Die dienstliche Beurteilung wurde mit der Mitarbeiterin besprochen.",
                  "Der Antrag auf Teilzeitbeschäftigung wird befürwortet."),
    "general": ("Mit freundlichen Grüßen im Auftrag", "Wir bitten um Stellungnahme bis zum genannten Termin.",
                "Die Angelegenheit wird zur Kenntnis genommen und zu den Akten genommen."),
}


class GermanText:
    """Draws words with Zipf-like frequencies: function words most often, then the municipal vocabulary, then
    generated compounds, then a long tail of rare generated words and names."""

    def __init__(self, rng: random.Random, tail_words: int = 60_000) -> None:
        self.rng = rng
        compounds = [a + b for a, b in itertools.product(FIRST_PARTS, LAST_PARTS)]
        rng.shuffle(compounds)
        tail = {self._pseudo_word() for _ in range(tail_words)}
        ranked: list[str] = (FUNCTION_WORDS + NOUNS + VERBS + ADJECTIVES + SURNAMES + compounds
                             + sorted(tail))
        # Zipf (s = 1.07) over the ranks: the first words make up most of the text, the tail is rare.
        self.words = ranked
        weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(ranked))]
        self.cum = list(itertools.accumulate(weights))

    def _pseudo_word(self) -> str:
        word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))
        return word.capitalize() if self.rng.random() < .6 else word

    def sentence(self) -> str:
        rng = self.rng
        words = rng.choices(self.words, cum_weights=self.cum, k=rng.randint(6, 16))
        r = rng.random()
        if r < .08:
            words.append(f"{rng.randint(10, 99_999)},{rng.randint(0, 99):02d} EUR")
        elif r < .14:
            words.append(f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2019, 2026)}")
        elif r < .18:
            words.append(f"{rng.choice(STREETS)} {rng.randint(1, 120)}")
        elif r < .22:
            words.append(f"Herr {rng.choice(SURNAMES)}" if rng.random() < .5 else f"Frau {rng.choice(SURNAMES)}")
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + "."

    def document(self, case_type: str, n_words: int, extra: Sequence[str] = ()) -> str:
        """About `n_words` words of text for a document of `case_type`, with `extra` sentences mixed in."""
        rng = self.rng
        sentences: list[str] = list(extra)
        phrases = TYPE_PHRASES.get(case_type, TYPE_PHRASES["general"])
        sentences += rng.sample(phrases, k=rng.randint(1, len(phrases)))
        count = sum(len(s.split()) for s in sentences)
        while count < n_words:
            s = self.sentence()
            sentences.append(s)
            count += len(s.split())
        rng.shuffle(sentences)
        paragraphs = [" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5)]
        return "\n\n".join(paragraphs)
