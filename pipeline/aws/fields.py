"""What a Data API Field carries as text because JSON numbers cannot: a float's NaN and
infinities, spelled as PostgreSQL (and so Redshift) prints them. The embedded Data API
writes them this way and the readers (DataFrames, `pipeline query`) read them back; this
module is light on purpose, since both the offline engine and the analysts' side import it."""

from __future__ import annotations

NON_FINITE_FLOATS: dict[str, float] = {
    "NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def non_finite_text(value: float) -> str:
    """"NaN", "Infinity" or "-Infinity" for a float that is not finite."""
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
