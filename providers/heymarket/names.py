"""Field and tag names -> Heymarket's numeric ids, and custom values back to names.

Both maps are the account's catalogues (providers/catalogue.py): cached, refreshed once on a
miss, one matching rule. A client may also give a field or tag by its numeric id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.catalogue import Catalogue, Resolution
from providers.errors import ErrorCode, Failure
from providers.heymarket import wire
from providers.model import ContactDraft, FieldMode, FieldValue

E = ErrorCode


@dataclass(frozen=True, slots=True)
class Prepared:
    """A checked contact with its custom fields keyed by field id and its tags as ids."""

    contact: ContactDraft
    custom: dict[str, FieldValue] | None
    tag_ids: list[int] | None

    @property
    def overwrite(self) -> bool:
        # REPLACE without custom fields must not wipe the ones the contact has.
        return self.custom is not None and self.contact.field_mode is FieldMode.REPLACE


class NameMap:
    """The account's two catalogues, applied to contacts."""

    def __init__(self, fields: Catalogue[int], tags: Catalogue[int]) -> None:
        self.fields = fields
        self.tags = tags

    async def prepare(self, contacts: Sequence[ContactDraft]) -> list[Prepared | Failure]:
        """Every contact's names as ids: one catalogue look-up (one refresh at most) for all."""
        field_names = [
            key for c in contacts for key in (c.custom_fields or {}) if not wire.is_integer_id(key)
        ]
        tag_names = [tag for c in contacts for tag in (c.tags or ())]
        fields = await self.fields.resolve(field_names) if field_names else _NOTHING
        tags = await self.tags.resolve(tag_names) if tag_names else _NOTHING
        return [self._prepare_one(c, fields, tags) for c in contacts]

    def _prepare_one(
        self, contact: ContactDraft, fields: Resolution[int], tags: Resolution[int]
    ) -> Prepared | Failure:
        custom = None
        if contact.custom_fields is not None:
            custom = {}
            for key, value in contact.custom_fields.items():
                ident = key if wire.is_integer_id(key) else fields.found.get(key)
                if ident is None:
                    return self.fields.refusal(
                        fields,
                        key,
                        code=E.UNKNOWN_FIELD,
                        field=f"customFields.{key}",
                        unknown=f"Heymarket has no custom field named {key!r} "
                        "(create it in Heymarket first)",
                    )
                custom[str(ident)] = value
        tag_ids = None
        if contact.tags is not None:
            tag_ids = []
            for position, name in enumerate(contact.tags):
                found = tags.found.get(name)
                if found is None and name not in tags.ambiguous and wire.is_integer_id(name):
                    found = int(name)  # already a tag id
                if found is None:
                    return self.tags.refusal(
                        tags,
                        name,
                        code=E.UNKNOWN_TAG,
                        field=f"tags[{position}]",
                        unknown=f"Heymarket has no tag named {name!r} "
                        "(create it in Heymarket first)",
                    )
                tag_ids.append(found)
        return Prepared(contact, custom, tag_ids)

    async def by_name(self, custom: Mapping[str, Any]) -> dict[str, FieldValue]:
        """Custom values keyed by field id -> keyed by field name (unknown ids stay ids)."""
        if not custom:
            return {}
        await self.fields.entries()  # loads the map only when it is stale
        named: dict[str, FieldValue] = {}
        for key, value in custom.items():
            if not isinstance(value, str | int | float | bool):
                continue
            name = self.fields.name_of(int(key)) if wire.is_integer_id(key) else None
            named[name or key] = value
        return named


_NOTHING: Resolution[int] = Resolution({}, (), {})
