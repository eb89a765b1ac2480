"""The session directory in Redis, shared by every relay of a cluster.

Keys (``prefix`` defaults to ``screencodec:``):

* ``claim:<code>`` = ``<verifier hex> <relay HOST:PORT>`` with an expiry. A
  fresh claim is ``SET NX EX``; a reclaim or renewal is a short Lua script
  (compare, then set or extend), so two relays can never both win a code.
* ``ended:<code>`` = ``<pair tag hex> <why>``: that its session ended (its
  host sent RELAY_RELEASE), the registration's pair tag and why,
  with an expiry (``RelayLimits.ended_memory``): every relay tells a viewer
  still reconnecting that it ended. A claim of the code deletes it, and so
  does the renewal of a claim (a live registration holds the code).
* ``lost:<code>:<pair tag hex>`` = when the host of that registration was
  last heard from (Redis's clock, ms), with an expiry
  (``RelayLimits.lost_memory``, the host's resume window): a relay lost the
  host's control connection without an end (a reset, silence), and every
  relay tells a viewer naming that registration what the first one does.
  Written only while the claim is that registration's at that relay, or
  gone; a claim or renewal by the registration deletes it, as does its end.
  Under the pair tag, so a registration of the code by someone else (once
  the claim expired) neither reads nor overwrites it.
* ``limit:<key>`` = a counter with an expiry: one fixed window of a shared
  attempt limit (``INCRBY``, and ``PEXPIRE`` on the first hit).
* ``members`` = a sorted set of the relays' advertised ``HOST:PORT``, each
  scored with when it expires (Redis's own clock, ms): every relay adds
  itself at start and at every heartbeat for ``claim_ttl``, and drops those
  expired. A relay tells the viewers it pairs the members it read (the
  addresses they may name their pair tag to: relay/protocol.py).
* ``epoch`` = a random token (hex), set by the first relay to start; every
  relay remembers the one it read. While it is there and the one a relay
  knew, Redis has kept the cluster's keys. A claim, renewal or
  announcement that finds it gone (Redis restarted without persistence, or
  was flushed: every claim went with it), or another token than the relay
  knew (another relay re-created it after a loss this relay did not see),
  sets it again and sets ``recovering`` for ``claim_ttl``: meanwhile a
  claim of a code nobody holds is refused (``ClaimResult.RECOVERING``)
  while each relay re-creates the claims of its live hosts at its next
  heartbeats. Before (attack40), someone who knew a code registered it at
  another relay in that window, and the live host's relay, finding its
  claim someone else's at its next heartbeat, cut its host
  (``claim_lost``): the host was refused its own code from then on. A
  relay *starting* that finds no epoch starts the grace too (epoch41): it
  cannot tell a new cluster's empty Redis from a flushed one whose relays
  still hold live hosts, so a new cluster waits ``claim_ttl`` once, at its
  first start. Before, it set the epoch with no grace, and a stranger's
  registration of a live host's code at it won (review40d).
  An attempt count (``limit:``) reads the epoch too, and sets nothing:
  one that finds it gone or another tells the relay (``loss_noticed``),
  which renews its claims at once (relay42; before, at its next
  heartbeat, and every other relay refused its hosts' joins meanwhile).
  A claim refused RECOVERING is told the grace's ``PTTL``.
* ``heard`` (expiring after 2/3 of ``claim_ttl``) and ``beating`` = ``1``:
  a relay's heartbeat (renewal, announcement) reached Redis recently, and
  relays beat at all. ``heard`` gone while ``beating`` is there means Redis
  stalled (SIGSTOP, a paused VM) long enough for unrenewed claims to expire
  in it: the grace above starts, as for a loss of keys. Before, a stranger
  took the code first at the wake and the host was cut.
* ``run`` = the ``run_id`` (INFO) of the redis-server process the keys were
  last written under. Another one means Redis restarted and its keys came
  back from persistence (or a replica took over), maybe without the last
  claims (an RDB snapshot holds what it held when taken): the grace above
  starts, as for a loss of keys. Before (epoch41), a Redis restarted from a
  snapshot older than a host's registration handed a stranger its code.
* ``log-key`` = 16 random bytes (hex), set by the first relay that asks
  (``SET NX``) and read by the others: every relay tags a session's log
  lines with it, so one session reads the same across the cluster. Relays
  ask again at every heartbeat, so after a Redis restart the first to ask
  sets the key they all had. No secret from anyone who can read this
  database: the claims name the codes themselves.

Only verifiers (hashes of registration secrets) are stored. The claim's expiry
survives a relay restart; a Redis restart without persistence loses the claims,
and each relay re-creates those of its live registrations at its next
heartbeat (:meth:`RedisDirectory.renew`).

Every call has a timeout; a failure raises DirectoryUnavailableError, and the
client reconnects by itself on the next call.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from screencodec.transport.aio import wait_for
from screencodec.transport.relay.directory import (
    MEMBERS_MOST,
    NO_END,
    ClaimResult,
    Directory,
    DirectoryUnavailableError,
    Holder,
)
from screencodec.transport.relay.protocol import TOKEN_SIZE, pair_tag
from screencodec.transport.relay.sessions import ended_for

__all__ = ["NO_RESTART_CHECK", "RedisDirectory"]

# Lua shared by the scripts that notice a loss (_NOTICE_LOSS, _BEGIN).
# restarted(): whether this Redis process is another than the one the cluster's keys
# were last written under (KEYS[8], then set to it): it restarted and its
# keys came back from persistence, maybe older than the last writes (an RDB
# snapshot lacks the claims made after it). INFO's run_id is new at every
# start of redis-server (a replica promoted has its own); a Redis whose
# INFO a script may not call is not checked. Not checked either when
# ARGV[8] is '0': a renewal's scripts but the first of each heartbeat (INFO
# costs Redis some 10 us a call: 10,000 renewals a beat would spend 0.1 s).
_LOSS_LUA = """
local run_read = false
local function restarted()
  if ARGV[8] == '0' then return false end
  local info = redis.pcall('INFO', 'server')
  if type(info) ~= 'string' then return false end
  local run = string.match(info, 'run_id:(%x+)')
  if not run then return false end
  run_read = true
  local was = redis.call('GET', KEYS[8])
  if was == run then return false end
  redis.call('SET', KEYS[8], run)
  return was ~= false
end
-- The grace starts (KEYS[5] for `ms`), and an epoch gone (`epoch` false) is
-- set again to `token`: the epoch in Redis now, returned.
local function start_grace(epoch, token, ms)
  if not epoch then
    epoch = token
    redis.call('SET', KEYS[4], epoch)
  end
  redis.call('SET', KEYS[5], '1', 'PX', ms)
  return epoch
end
"""
# Run first by the claim, renew and announce scripts (KEYS[4] the epoch key,
# KEYS[5] recovering, KEYS[6] heard, KEYS[7] beating, KEYS[8] the run;
# ARGV[4] the grace in ms, ARGV[6] the epoch this relay knows ('' none
# yet), ARGV[7] a new token, ARGV[8] '0' not to look at the run): an epoch
# gone means Redis lost its keys (a restart without persistence, a flush),
# the relays' live claims with them;
# another epoch than the one this relay knew means another relay
# re-created it after such a loss; another Redis process than the keys'
# means they came back from persistence, maybe without the last claims;
# heard gone while relays beat (beating) means no heartbeat reached Redis
# for longer than a claim may go unrenewed (Redis stalled: claims may have
# expired inside it). Either way new claims wait out the grace
# (recovering) while the relays re-create theirs at their heartbeats.
# Leaves the epoch in `epoch`, which each script returns last, so that the
# relay knows it from then on.
_NOTICE_LOSS = _LOSS_LUA + """
local epoch = redis.call('GET', KEYS[4])
if restarted() or not epoch or (ARGV[6] ~= '' and epoch ~= ARGV[6])
    or (redis.call('EXISTS', KEYS[7]) == 1 and redis.call('EXISTS', KEYS[6]) == 0) then
  epoch = start_grace(epoch, ARGV[7], ARGV[4])
end
"""
# KEYS[4], [5] and [8] as _NOTICE_LOSS; ARGV: a new token, the grace in ms.
# A relay starts: no epoch is a new cluster's Redis or one that lost its
# keys, which nobody can tell apart, so the grace starts either way; as it
# does for a Redis restarted with its keys. Returns the epoch, the grace
# left (ms; 0 none), and 1 if the script read the run_id (0: INFO refused,
# the restart check is off: RedisDirectory.caveat).
_BEGIN = _LOSS_LUA + """
local epoch = redis.call('GET', KEYS[4])
if restarted() or not epoch then
  epoch = start_grace(epoch, ARGV[1], ARGV[2])
end
return {epoch, math.max(0, redis.call('PTTL', KEYS[5])), run_read and 1 or 0}
"""
#: RedisDirectory.caveat when the scripts could not read INFO's run_id.
NO_RESTART_CHECK = (
    "this Redis refuses INFO inside the relays' scripts (an ACL without +info,"
    " rename-command, a managed service), so a Redis restarted from its persistence"
    " (an RDB snapshot, a replica promoted) is not noticed, and a stranger may take a"
    " live host's code the snapshot lacks: allow INFO (ACL +info) or run Redis with"
    " AOF appendfsync always, or without persistence (docs/relay.md)")
# A heartbeat (renew, announce) reached Redis: ARGV[5] the window in ms.
_HEARD = """
redis.call('SET', KEYS[6], '1', 'PX', ARGV[5])
redis.call('SET', KEYS[7], '1')
"""
# KEYS[1] claim key, KEYS[2] its ended key, KEYS[3] the lost key of this
# verifier's registration, KEYS[4..8] as above, KEYS[9] what the claim
# replaced (kept for _UNCLAIM: '<mark hex> <the value replaced>', the value
# empty if none); ARGV: value, verifier hex,
# ttl ms, grace ms, window ms, then the epochs, then the claim's mark (hex).
# {1 new, 2 reclaimed, 0 in
# use, 3 recovering (no claim is new while the relays may not have
# re-created theirs); the epoch}. A claim forgets
# that the code's session ended, and that its own registration was lost
# (it is back).
_CLAIM = _NOTICE_LOSS + """
local v = redis.call('GET', KEYS[1])
if not v then
  if redis.call('EXISTS', KEYS[5]) == 1 then return {3, epoch} end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('SET', KEYS[9], ARGV[9] .. ' ', 'PX', ARGV[3])
  return {1, epoch}
end
if string.sub(v, 1, 64) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('SET', KEYS[9], ARGV[9] .. ' ' .. v, 'PX', ARGV[3])
  return {2, epoch}
end
return {0, epoch}
"""
# KEYS[1] claim key, KEYS[2] its ended key, KEYS[3] the lost key of this
# registration, KEYS[4..7] as _NOTICE_LOSS; ARGV: value, ttl ms, (unused),
# grace ms, window ms, then the epochs. {1 kept (or re-made), 0 someone
# else's now; the epoch}. A claim kept is a
# live session: it forgets that the code's session ended (a mark left while
# a Redis restart had lost the claim, by someone who registered the code
# meanwhile and released it), and that it was lost.
_RENEW = _NOTICE_LOSS + _HEARD + """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return {0, epoch}
end
redis.call('DEL', KEYS[2], KEYS[3])
return {1, epoch}
"""
# KEYS[1] claim key, KEYS[2] its ended key, KEYS[3] the lost key of this
# registration; ARGV: verifier hex, why, ttl ms, the relay the claim must
# name ('' for any).
_END = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 64) ~= ARGV[1] then return 0 end
if v and ARGV[4] ~= '' and string.sub(v, 66) ~= ARGV[4] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
# KEYS[1] claim key, KEYS[2] the lost key of this registration; ARGV:
# verifier hex, ms since the host was last heard from, ttl ms, the relay
# that lost it. Stored: when it was last heard from, by Redis's clock (the
# relays' clocks may differ). Nothing while the claim is another
# registration's, or this one's at another relay (the host is back there).
_LOST = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 64) ~= ARGV[1] then return 0 end
if v and string.sub(v, 66) ~= ARGV[4] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[2], tostring(now - tonumber(ARGV[2])), 'PX', ARGV[3])
return 1
"""
# KEYS[1] a lost key. Milliseconds since its host was last heard from, or nil.
_SILENT = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return now - tonumber(v)
"""
# KEYS[1] claim key, KEYS[2] what the code's last claim replaced (_CLAIM's
# KEYS[9]); ARGV: the value this relay's claim set, ttl ms, the claim's
# mark (hex). A claim still this relay's, and the code's last, goes back
# to what it replaced, or away.
_UNCLAIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local last = redis.call('GET', KEYS[2])
if not last then return 0 end
local mark = ARGV[3] .. ' '
if string.sub(last, 1, #mark) ~= mark then return 0 end
local was = string.sub(last, #mark + 1)
redis.call('DEL', KEYS[2])
if was ~= '' then redis.call('SET', KEYS[1], was, 'PX', ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1
"""
# KEYS[1] claim key; ARGV[1] verifier hex.
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 64) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] the members set, KEYS[4..7] as _NOTICE_LOSS; ARGV: relay, ttl ms,
# (unused), grace ms, window ms, then the epochs. Scores are expiries by
# Redis's clock (the relays' clocks may differ). Returns the epoch.
_ANNOUNCE = _NOTICE_LOSS + _HEARD + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return epoch
"""
# KEYS[1] the members set; ARGV[1] how many at most. Those not expired, by name.
_MEMBERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local all = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(all)
local out = {}
for i = 1, math.min(#all, tonumber(ARGV[1])) do out[i] = all[i] end
return out
"""
# KEYS[1] counter, KEYS[2] the epoch; ARGV: window ms, weight, the epoch
# this relay knows ('' none yet). Returns {the count before this hit, 1 if
# the epoch is gone or another (the keys were lost, and this relay's claims
# with them: RedisDirectory.loss_noticed), else 0}. Sets nothing of the
# epoch's: a renewal, which the relay makes at once, notices the loss.
_HIT = """
local lost = 0
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then lost = 1 end
local w = tonumber(ARGV[2])
if w == 0 then return {tonumber(redis.call('GET', KEYS[1]) or '0'), lost} end
local n = redis.call('INCRBY', KEYS[1], w)
if n == w then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n - w, lost}
"""


def _window(ttl: float) -> int:
    """Milliseconds without a heartbeat reaching Redis (relays beat every
    ttl / 3) after which its claims may have expired unrenewed: a stall."""
    return max(1, int(ttl * 2000 / 3))


class RedisDirectory(Directory):
    """A :class:`Directory` in Redis (``redis.asyncio``).

    Concurrency: one instance per relay process and event loop; the client's
    connection pool serialises nothing, every operation is one round trip
    (renewals are pipelined: one round trip per heartbeat for all claims).
    """

    def __init__(self, url: str, *, prefix: str = "screencodec:", timeout: float = 2.0,
                 max_connections: int = 16) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout = timeout
        # A bounded pool: a burst of registrations queues for a connection
        # instead of opening hundreds at once (which is what made Redis
        # calls time out under load).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout,
            socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=5)
        self._redis: Any = aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes it
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._unclaim = self._redis.register_script(_UNCLAIM)
        self._end = self._redis.register_script(_END)
        self._hit = self._redis.register_script(_HIT)
        self._announce = self._redis.register_script(_ANNOUNCE)
        self._members = self._redis.register_script(_MEMBERS)
        self._lost = self._redis.register_script(_LOST)
        self._silent = self._redis.register_script(_SILENT)
        self._begin = self._redis.register_script(_BEGIN)
        #: The cluster's epoch as this relay last read it ('' before begin):
        #: another one in Redis means its keys were lost and re-created.
        self._epoch = ""
        #: What begin() found the scripts cannot check ('' nothing).
        self._caveat = ""
        #: An attempt count found the epoch gone or another (loss_noticed).
        self._lost_keys = False

    def caveat(self) -> str:
        # Found at begin(): before relay42 a Redis refusing INFO in scripts
        # (a managed service's ACL) turned the restart check off unsaid.
        return self._caveat

    def describe(self) -> str:
        # The URL may hold a password: log only where it points.
        pool = self._redis.connection_pool.connection_kwargs
        return f"redis {pool.get('host', '?')}:{pool.get('port', '?')}/{pool.get('db', 0)}"

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    def _lost_key(self, code: str, tag: bytes) -> str:
        """Where a lost host of registration ``tag`` (its pair tag) is kept."""
        return self._key("lost", f"{code}:{tag.hex()}")

    async def _run(self, coro: Any) -> Any:
        try:
            return await wait_for(coro, self._timeout)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise DirectoryUnavailableError(
                f"session directory unavailable: {type(exc).__name__}") from None

    async def claim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                    mark: bytes = b"") -> ClaimResult:
        value = f"{verifier.hex()} {relay}"
        got = await self._run(self._claim(keys=[self._key("claim", code),
                                                self._key("ended", code),
                                                self._lost_key(code, pair_tag(verifier)),
                                                *self._loss_keys(),
                                                self._key("replaced", code)],
                                          args=[value, verifier.hex(), int(ttl * 1000),
                                                int(ttl * 1000), _window(ttl),
                                                *self._epochs(), mark.hex()]))
        self._knew(got[-1])
        return {1: ClaimResult.NEW, 2: ClaimResult.RECLAIMED,
                3: ClaimResult.RECOVERING}.get(int(got[0]), ClaimResult.IN_USE)

    def _epochs(self, check_run: bool = True) -> list[str]:
        """ARGV[6:9] of the scripts (_NOTICE_LOSS): the epoch this relay
        knows, the one to set if Redis holds none, and whether to look for
        a restarted Redis (_LOSS_LUA restarted())."""
        return [self._epoch, secrets.token_hex(16), "1" if check_run else "0"]

    def _knew(self, epoch: Any) -> None:
        """Remember the epoch a script left in Redis. (Replies on two
        connections may be read out of order: an older epoch remembered
        only restarts a grace that is running anyway, at the next call.)"""
        self._epoch = epoch.decode("ascii", "replace") if isinstance(epoch, bytes) else str(epoch)

    def _loss_keys(self) -> list[str]:
        """The keys by which a loss of Redis's keys, or a stall, is noticed
        (_NOTICE_LOSS, _HEARD)."""
        return [f"{self._prefix}{k}" for k in ("epoch", "recovering", "heard", "beating", "run")]

    async def begin(self, ttl: float) -> float:
        # No epoch: a new cluster's Redis, or one that lost its keys while
        # relays held live hosts (a flush, a restart without persistence):
        # the grace starts (_BEGIN). One that holds it already is left as it
        # is (recovering or not), and its epoch is this relay's. A relay
        # starting is heard (a whole cluster restarted is no stall).
        loss = self._loss_keys()  # as KEYS[4..8], the first three unused
        epoch, left, run_read = await self._run(self._begin(
            keys=[*loss[:3], *loss], args=[secrets.token_hex(16), int(ttl * 1000)]))
        self._knew(epoch)
        self._caveat = "" if int(run_read) else NO_RESTART_CHECK
        await self._run(self._redis.set(f"{self._prefix}heard", "1", px=_window(ttl)))
        return int(left) / 1000

    async def recovering_left(self) -> float | None:
        left = int(await self._run(self._redis.pttl(f"{self._prefix}recovering")))
        if left == -1:
            # No expiry (set by hand): recovering, with no end to tell. Not
            # None (relay49: read as not recovering, a viewer was told "no
            # such session code" of a code whose host may be coming back).
            return NO_END
        return max(0, left) / 1000  # -2: it ended since the claim looked

    async def renew(self, claims: Mapping[str, bytes], relay: str, ttl: float) -> set[str]:
        if not claims:
            return set()
        codes = list(claims)
        # The context resets the pipeline even when execute() fails, so no
        # connection is left checked out after a Redis outage.
        async with self._redis.pipeline(transaction=False) as pipe:
            for i, code in enumerate(codes):
                await self._renew(keys=[self._key("claim", code), self._key("ended", code),
                                        self._lost_key(code, pair_tag(claims[code])),
                                        *self._loss_keys()],
                                  args=[f"{claims[code].hex()} {relay}", int(ttl * 1000), 0,
                                        int(ttl * 1000), _window(ttl), *self._epochs(i == 0)],
                                  client=pipe)
            results = await self._run(pipe.execute())
        self._knew(results[-1][-1])
        return {code for code, (kept, _) in zip(codes, results, strict=True) if not int(kept)}

    async def unclaim(self, code: str, verifier: bytes, relay: str, ttl: float, *,
                      mark: bytes = b"") -> None:
        await self._run(self._unclaim(keys=[self._key("claim", code), self._key("replaced", code)],
                                      args=[f"{verifier.hex()} {relay}", int(ttl * 1000),
                                            mark.hex()]))

    async def release(self, code: str, verifier: bytes) -> None:
        await self._run(self._release(keys=[self._key("claim", code)], args=[verifier.hex()]))

    async def end(self, code: str, verifier: bytes, why: str, ttl: float, *,
                  relay: str | None = None) -> None:
        value = f"{pair_tag(verifier).hex()} {why}"
        await self._run(self._end(keys=[self._key("claim", code), self._key("ended", code),
                                        self._lost_key(code, pair_tag(verifier))],
                                  args=[verifier.hex(), value, max(1, int(ttl * 1000)),
                                        relay or ""]))

    async def lost(self, code: str, verifier: bytes, ago: float, ttl: float, *,
                   relay: str) -> None:
        await self._run(self._lost(keys=[self._key("claim", code),
                                         self._lost_key(code, pair_tag(verifier))],
                                   args=[verifier.hex(), max(0, int(ago * 1000)),
                                         max(1, int(ttl * 1000)), relay]))

    async def silent_for(self, code: str, tag: bytes) -> float | None:
        if not tag.strip(b"\0"):
            return None  # a viewer naming no registration is told of none
        got = await self._run(self._silent(keys=[self._lost_key(code, tag)]))
        return None if got is None else max(0.0, int(got) / 1000)

    async def ended(self, code: str, tag: bytes | None = None) -> str | None:
        value = await self._run(self._redis.get(self._key("ended", code)))
        if value is None:
            return None
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        ended, _, why = text.partition(" ")
        try:
            by = bytes.fromhex(ended) if len(ended) == 2 * TOKEN_SIZE else b""
        except ValueError:
            by = b""
        if not by:  # written by a relay before pair tags: no registration named
            why = text
        return why if ended_for(tag, by) else None

    async def locate(self, code: str) -> Holder | None:
        value = await self._run(self._redis.get(self._key("claim", code)))
        if value is None:
            return None
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        verifier, _, relay = text.partition(" ")
        try:
            tag = pair_tag(bytes.fromhex(verifier))
        except ValueError:
            tag = b""
        return Holder(relay, tag) if relay else None

    async def hit(self, key: str, limit: int, window: float, *, weight: int = 1) -> bool:
        before, lost = await self._run(self._hit(
            keys=[self._key("limit", key), f"{self._prefix}epoch"],
            args=[max(1, int(window * 1000)), weight, self._epoch]))
        if int(lost):
            self._lost_keys = True
        return int(before) < limit

    def loss_noticed(self) -> bool:
        noticed, self._lost_keys = self._lost_keys, False
        return noticed

    async def reset(self, key: str) -> None:
        await self._run(self._redis.delete(self._key("limit", key)))

    async def announce(self, relay: str, ttl: float) -> None:
        members = f"{self._prefix}members"
        self._knew(await self._run(self._announce(
            keys=[members, members, members, *self._loss_keys()],
            args=[relay, max(1, int(ttl * 1000)), 0, int(ttl * 1000), _window(ttl),
                  *self._epochs()])))

    async def members(self) -> list[str]:
        got = await self._run(self._members(keys=[f"{self._prefix}members"],
                                            args=[MEMBERS_MOST]))
        return [m.decode("ascii", "replace") if isinstance(m, bytes) else str(m) for m in got]

    async def log_key(self, mine: bytes) -> bytes:
        key = f"{self._prefix}log-key"
        await self._run(self._redis.set(key, mine.hex(), nx=True))
        value = await self._run(self._redis.get(key))
        try:
            return bytes.fromhex(value.decode() if isinstance(value, bytes) else str(value))
        except ValueError:
            raise DirectoryUnavailableError(f"{key} holds no key: {value!r:.40}") from None

    async def ping(self) -> None:
        await self._run(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
