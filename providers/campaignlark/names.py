"""Merge tags and tag names -> what the workspace stores, checked before any write.

Both maps are the workspace's catalogues (providers/catalogue.py): cached, refreshed once on a
miss, one matching rule. An unknown merge tag or tag, a required field left empty, is refused
before any write, named after the client's input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from providers.campaignlark.errors import REQUIRED_MESSAGE
from providers.campaignlark.wire import (
    EMAIL_TAG,
    FIRST_NAME_TAG,
    LAST_NAME_TAG,
    FieldInfo,
    is_filled,
)
from providers.catalogue import Catalogue
from providers.errors import ErrorCode, ProviderError
from providers.model import ContactDraft, FieldValue

E = ErrorCode


@dataclass(frozen=True, slots=True)
class Prepared:
    """A contact checked against the catalogues."""

    fields: dict[str, FieldValue]  # merge tag -> value
    names: dict[str, str]  # merge tag -> the client's input it came from ("customFields.tier")
    tag_ids: list[int] | None


class Names:
    def __init__(
        self, fields: Catalogue[FieldInfo], tags: Catalogue[int], phone_tag: str | None
    ) -> None:
        self.fields = fields
        self.tags = tags
        self.phone_tag = phone_tag

    def given(self, contact: ContactDraft) -> list[tuple[str, FieldValue, str]]:
        """(merge tag as given, value, input name) for everything the contact writes."""
        entries = [
            (key, value, f"customFields.{key}")
            for key, value in (contact.custom_fields or {}).items()
        ]
        if any(key.casefold() == EMAIL_TAG for key, _, _ in entries):
            raise ProviderError.of(
                E.INVALID_CUSTOM_FIELDS,
                f"{EMAIL_TAG} is the contact's key: give it as email",
                field=f"customFields.{EMAIL_TAG}",
            )
        standard = (
            (FIRST_NAME_TAG, contact.first_name, "firstName"),
            (LAST_NAME_TAG, contact.last_name, "lastName"),
            (self.phone_tag, contact.phone, "phone"),
        )
        entries += [
            (tag, value, name) for tag, value, name in standard if tag and value is not None
        ]
        return entries

    async def preload(self, contacts: Sequence[ContactDraft]) -> None:
        """One look-up (one refresh at most) for every merge tag and tag a bulk uses; a bulk
        then prepares each contact without asking the provider again."""
        keys = {key for c in contacts for key, _, _ in self._given_quietly(c)}
        if keys:
            await self.fields.resolve(keys)
        tags = {name for c in contacts for name in c.tags or ()}
        if tags:
            await self.tags.resolve(tags)

    async def prepare(self, contact: ContactDraft, *, refresh: bool) -> Prepared:
        fields, names = await self.checked(self.given(contact), refresh=refresh)
        return Prepared(fields, names, await self.tag_ids(contact.tags, refresh=refresh))

    async def checked(
        self, entries: Iterable[tuple[str, FieldValue, str]], *, refresh: bool
    ) -> tuple[dict[str, FieldValue], dict[str, str]]:
        """(merge tag -> value, merge tag -> input name), each merge tag as the workspace
        spells it; unknown, ambiguous or empty required fields refused."""
        entries = list(entries)
        if not entries:
            return {}, {}
        found = await self.fields.resolve([key for key, _, _ in entries], refresh_on_miss=refresh)
        fields: dict[str, FieldValue] = {}
        names: dict[str, str] = {}
        for key, value, name in entries:
            info = found.found.get(key)
            if info is None:
                hint = " (providers.campaignlark.phone_merge_tag)" if name == "phone" else ""
                raise ProviderError(
                    self.fields.refusal(
                        found,
                        key,
                        code=E.UNKNOWN_FIELD,
                        field=name,
                        unknown=f"CampaignLark has no field with the merge tag {key!r}{hint}",
                    )
                )
            if info.merge_tag in names:
                raise ProviderError.of(
                    E.INVALID_CUSTOM_FIELDS,
                    f"{name} and {names[info.merge_tag]} both set the merge tag {info.merge_tag!r}",
                    field=name,
                )
            if info.required and not is_filled(value):
                raise _required(info, name)
            fields[info.merge_tag], names[info.merge_tag] = value, name
        return fields, names

    async def check_required(
        self, fields: Mapping[str, FieldValue], names: Mapping[str, str]
    ) -> None:
        """The complete field set a full replace leaves: every required field must be in it."""
        for info in (await self.fields.entries()).values():
            tag = info.merge_tag
            if info.required and tag != EMAIL_TAG and not is_filled(fields.get(tag)):
                raise _required(info, names.get(tag, f"customFields.{tag}"))

    async def tag_ids(self, tags: Sequence[str] | None, *, refresh: bool) -> list[int] | None:
        if tags is None:
            return None
        found = await self.tags.resolve(tags, refresh_on_miss=refresh)
        for position, name in enumerate(tags):
            if name not in found.found:
                raise ProviderError(
                    self.tags.refusal(
                        found,
                        name,
                        code=E.UNKNOWN_TAG,
                        field=f"tags[{position}]",
                        unknown=f"CampaignLark has no tag named {name!r} in this workspace",
                    )
                )
        return list(dict.fromkeys(found.found[name] for name in tags))

    async def located(self, error: ProviderError, names: Mapping[str, str]) -> ProviderError:
        """Name the client's input in a write's error; drop a catalogue the provider disowned."""
        failure = error.failure
        if failure.code is E.UNKNOWN_TAG:
            self.tags.invalidate()
        elif failure.code is E.UNKNOWN_FIELD:
            self.fields.invalidate()
            tag = (failure.field or "").removeprefix("customFields.")
            failure = failure.with_field(names.get(tag, failure.field))
        elif failure.code is E.REQUIRED_FIELD_MISSING:
            said = REQUIRED_MESSAGE.search(failure.provider_code or "")
            try:  # the message names the field by label; the client knows it by merge tag
                catalogue = await self.fields.entries()
            except ProviderError:
                catalogue = {}
            labels = {info.label.casefold(): tag for tag, info in catalogue.items()}
            named = labels.get(said.group("label").casefold()) if said else None
            if named is not None:
                failure = failure.with_field(names.get(named, f"customFields.{named}"))
        return ProviderError(failure, status=error.status, reached=error.reached)

    def _given_quietly(self, contact: ContactDraft) -> list[tuple[str, FieldValue, str]]:
        try:
            return self.given(contact)
        except ProviderError:
            return []  # refused later, by prepare, at the contact's own index


def _required(info: FieldInfo, name: str) -> ProviderError:
    return ProviderError.of(
        E.REQUIRED_FIELD_MISSING,
        f"CampaignLark requires the field {info.label!r} ({info.merge_tag}) to have a value",
        field=name,
    )
