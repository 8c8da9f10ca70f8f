"""Each phone's Heymarket id, and which phones a bulk is about to create, in the account cache.

Both live in `Runtime.cache`: this process's memory, or Redis shared by the whole fleet. Keys
never hold a phone: they hold an HMAC of it, keyed by the account's credentials. A cache key is
more exposed than a value (Redis lists keys with SCAN and KEYS, logs them in SLOWLOG and
MONITOR, names them in keyspace notifications and in most admin tools), a phone number is
personal data, and a plain hash would not hide it: there are few enough phone numbers to hash
them all. Without the account's secret the digest names no one; with it, the same phone gives
the same key on every host of the account, so the fleet shares what one process learned.

- `contact:<digest>` -> `{"id": n}` (plus `"created": true` when the gateway's own create made
  it), written whenever the gateway looks a contact up or creates it. A bulk uses it to update a
  contact given both names without looking it up; a stale id (404, or a refusal naming the
  contact) is forgotten and the contact looked up. Values hold the id only, never a name:
  names come from the input or a fresh look-up.
- `claim:<digest>` -> the bulk's token, while a new contact waits in that bulk's batch. Another
  bulk meeting the claim sends its contact as a single create instead (which says whether the
  contact exists), and the claimant sees that it was not alone. A claim is read, then written:
  two bulks reading in the same instant (a Redis round trip apart) can both miss each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from providers import dryrun
from providers.cache import SharedCache

# A claim outlives the wait it covers: the batch's wait, a full pacing window, its deadline.
CLAIM_TTL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class KnownId:
    id: int
    created: bool  # the gateway's own create made it (else a look-up found it)


class ContactIds:
    def __init__(self, cache: SharedCache, secret: str, *, ttl: float) -> None:
        self.cache = cache
        self.ttl = ttl
        # Derived, so the account's credential itself is never the HMAC key of anything else.
        self._key = hashlib.sha256(b"heymarket-contact-keys\x00" + secret.encode()).digest()

    def _digest(self, phone: str) -> str:
        digits = phone.removeprefix("+")  # one key whatever form the phone came in
        return hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()[:32]

    # -- ids ----------------------------------------------------------------------------------

    async def get(self, phone: str) -> KnownId | None:
        raw = await self.cache.get("contact:" + self._digest(phone))
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            ident = value["id"]
        except (ValueError, TypeError, KeyError):
            return None  # written by another version of the gateway: as if absent
        if not isinstance(ident, int) or isinstance(ident, bool):
            return None
        return KnownId(ident, value.get("created") is True)

    async def remember(self, phone: str, ident: int, *, created: bool = False) -> None:
        if dryrun.current() is not None:
            return  # a dry run's ids are stand-ins (no contact was made): never kept
        value = {"id": ident, "created": True} if created else {"id": ident}
        await self.cache.set("contact:" + self._digest(phone), json.dumps(value), self.ttl)

    async def forget(self, phone: str) -> None:
        await self.cache.delete("contact:" + self._digest(phone))

    # -- claims -------------------------------------------------------------------------------

    async def claim(self, phone: str, token: str) -> bool:
        """Claim the phone for a batch; False when another bulk holds it."""
        if dryrun.current() is not None:
            return True  # a dry run's batch creates nothing: nothing to claim
        key = "claim:" + self._digest(phone)
        holder = await self.cache.get(key)
        if holder is not None and holder != token:
            return False
        await self.cache.set(key, token, CLAIM_TTL_SECONDS)
        return True

    async def holds(self, phone: str, token: str) -> bool:
        if dryrun.current() is not None:
            return True
        return await self.cache.get("claim:" + self._digest(phone)) == token

    async def release(self, phone: str, token: str) -> None:
        key = "claim:" + self._digest(phone)
        if await self.cache.get(key) == token:
            await self.cache.delete(key)
