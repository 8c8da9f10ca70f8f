"""A provider's error table as data: (HTTP status, provider code or message) -> ErrorCode.

Each adapter declares its rows; `ErrorTable.classify` applies them in a fixed order
(exact code, then message pattern, then a status-wide row) and falls back on the HTTP status
alone, so an answer no table names still gets a sensible code and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from providers.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row: when `status` (None: any) and `match` (None: any) fit, answer `code`.

    `match` is the provider's code compared exactly, or a compiled pattern searched in the
    provider's message. `field` names the unified input concerned; it may use the pattern's
    named groups, e.g. "customFields.{tag}".
    """

    code: ErrorCode
    match: str | re.Pattern[str] | None = None
    status: int | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    code: ErrorCode
    field: str | None
    rule: ErrorRule | None  # None when only the status fallback applied


def status_fallback(status: int) -> ErrorCode:
    """The contract's mapping for answers that no table row names."""
    if status == 401:
        return ErrorCode.UNAUTHORIZED
    if status == 403:
        return ErrorCode.FORBIDDEN
    if status == 404:
        return ErrorCode.CONTACT_NOT_FOUND
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status >= 500:
        return ErrorCode.PROVIDER_ERROR
    return ErrorCode.INVALID_REQUEST


class ErrorTable:
    def __init__(self, rules: Iterable[ErrorRule]) -> None:
        self.rules: tuple[ErrorRule, ...] = tuple(rules)
        self._exact: dict[tuple[int | None, str], ErrorRule] = {}
        self._patterns: list[ErrorRule] = []
        self._by_status: dict[int | None, ErrorRule] = {}
        for rule in self.rules:
            if isinstance(rule.match, str):
                self._exact.setdefault((rule.status, rule.match), rule)
            elif rule.match is None:
                self._by_status.setdefault(rule.status, rule)
            else:
                self._patterns.append(rule)

    def classify(self, status: int, key: str | None) -> Classification:
        if key:
            rule = self._exact.get((status, key)) or self._exact.get((None, key))
            if rule is not None:
                return Classification(rule.code, rule.field, rule)
            for rule in self._patterns:
                if rule.status not in (None, status):
                    continue
                assert isinstance(rule.match, re.Pattern)
                found = rule.match.search(key)
                if found:
                    return Classification(rule.code, _field(rule.field, found), rule)
        rule = self._by_status.get(status)
        if rule is not None:
            return Classification(rule.code, rule.field, rule)
        return Classification(status_fallback(status), None, None)


def _field(template: str | None, found: re.Match[str]) -> str | None:
    if template is None:
        return None
    try:
        return template.format(**found.groupdict())
    except (KeyError, IndexError):
        return None
