"""Words for purchase options in cost lines: a person can redo the arithmetic from the line alone."""

from __future__ import annotations

from advisor.pricing import TERM_MONTHS


def option_words(row: dict) -> str:
    option = row["purchase_option"]
    payment = (row.get("payment") or "").replace("_", " ")
    if option == "reserved":
        cls = f" {row['offering_class']}" if row.get("offering_class") else ""
        return f"reserved{cls} {row['term']} {payment}"
    if option == "savings_plan":
        return f"{row['plan_type'].replace('_', ' ')} savings plan {row['term']} {payment}"
    if option == "capacity_reservation":
        return "capacity reservation"
    return option.replace("_", "-")


def rate_words(row: dict, horizon_months: int, hours: float) -> str:
    """'$0.029/h + $252 upfront, 730 h x 12 months, over 12 months' style arithmetic."""
    option = row["purchase_option"]
    if option in ("reserved", "savings_plan"):
        months = TERM_MONTHS[row["term"]]
        terms = -(-horizon_months // months)
        upfront = f" + ${row['upfront_usd']:g} upfront" if row["upfront_usd"] else ""
        return (f"${row['usd_per_hour']:g}/h{upfront} per unit, {terms} x {months}-month term paid "
                f"every hour, averaged over {horizon_months} months")
    if option == "capacity_reservation":
        return f"${row['usd_per_hour']:g}/h x 730 h (billed used or not)"
    return f"${row['usd_per_hour']:g}/h x {hours:g} h"
