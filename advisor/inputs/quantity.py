"""Kubernetes resource quantities in Kubernetes' own grammar (apimachinery `resource.Quantity`).

    quantity        ::= <signedNumber><suffix>
    suffix          ::= <binarySI> | <decimalExponent> | <decimalSI>
    binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
    decimalExponent ::= "e" <signedNumber> | "E" <signedNumber>

So `500m` CPU is 0.5, `1.5` is 1.5, `512Mi` is 536870912 bytes, `1G` is 10^9 bytes and `2e3` is 2000.
Source: Kubernetes API reference, "Quantity" (kubernetes.io/docs/reference/kubernetes-api/common-definitions/
quantity/). Exact arithmetic (Decimal): 0.1 + 0.2 CPUs must not become 0.30000000000000004.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from advisor.errors import InputError

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
           "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15),
           "E": Decimal(10**18)}
GRAMMAR = re.compile(r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
                     r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))$")
GIB = Decimal(2**30)


def parse(value: object, *, what: str = "quantity") -> Decimal:
    """The quantity's value in base units (cores, bytes, devices); InputError naming `what` when malformed.

    A YAML number (`cpu: 2`, `cpu: 0.5`) is a quantity too."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{what}: not a Kubernetes quantity (got {value!r})", field=what)
    if isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    text = str(value).strip()
    match = GRAMMAR.match(text)
    if not match:
        raise InputError(f"{what}: not a Kubernetes quantity (got {value!r}); e.g. 500m, 1.5, 512Mi, 1G, 2e3",
                         field=what)
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # pragma: no cover - the grammar admits only decimal numbers
        raise InputError(f"{what}: not a Kubernetes quantity (got {value!r})", field=what) from None
    if number < 0:
        raise InputError(f"{what}: a resource quantity cannot be negative (got {value!r})", field=what)
    if match["binary"]:
        return number * BINARY[match["binary"]]
    if match["exponent"] is not None:
        return number.scaleb(int(match["exponent"]))
    return number * DECIMAL[match["decimal"] or ""]


def cpu_cores(value: object, what: str = "cpu") -> float:
    return float(parse(value, what=what))


def memory_gib(value: object, what: str = "memory") -> float:
    return float(parse(value, what=what) / GIB)
