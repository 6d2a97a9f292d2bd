"""Label selectors on lists (``?labelSelector=``), equality-based.

``k=v``, ``k==v``, ``k!=v``, ``k`` (has the label), ``!k`` (has it not);
comma means and. Set-based terms (``in``, ``notin``, parentheses) are
refused with 400 rather than misread: the adapter sends ``app=loft``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .api_errors import ApiError

_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


@dataclass(frozen=True)
class Requirement:
    key: str
    # "=", "!=", "exists" or "!exists"
    operator: str
    value: str = ""

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "=":
            return labels.get(self.key) == self.value
        if self.operator == "!=":
            return labels.get(self.key) != self.value
        if self.operator == "exists":
            return self.key in labels
        return self.key not in labels


def _invalid(term: str) -> ApiError:
    return ApiError(400, f"unable to parse requirement: invalid label selector term: {term}")


def parse_label_selector(selector: str) -> list[Requirement]:
    requirements = []
    for raw in selector.split(","):
        term = raw.strip()
        if not term:
            continue
        if "(" in term or ")" in term or " in " in f" {term} " or " notin " in f" {term} ":
            raise ApiError(
                400, f"unable to parse requirement: set-based selectors are not supported here: {term}"
            )
        # "!=" before "==" before "=": each later one is a part of an earlier one.
        for operator in ("!=", "==", "="):
            if operator in term:
                key, _, value = term.partition(operator)
                key, value = key.strip(), value.strip()
                if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                    raise _invalid(term)
                requirements.append(Requirement(key, "!=" if operator == "!=" else "=", value))
                break
        else:
            negated = term.startswith("!")
            key = term[1:].strip() if negated else term
            if not _LABEL_KEY.fullmatch(key):
                raise _invalid(term)
            requirements.append(Requirement(key, "!exists" if negated else "exists"))
    return requirements


def select(items: list[dict], label_selector: str) -> list[dict]:
    """The items whose ``metadata.labels`` meet every requirement of the selector."""
    requirements = parse_label_selector(label_selector)
    return [
        item
        for item in items
        if all(r.matches(item.get("metadata", {}).get("labels") or {}) for r in requirements)
    ]
