"""The misallocation levy (Fehlbelegungsabgabe, Hesse: FBAG, HWoFG): one case per social rental flat, one procedure
per household and payment period (survey → evidence → computation → four-eyes → notice → running), objections and
§8 changes in the same procedure. Pure: no database."""
