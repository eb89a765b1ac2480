"""relay42: a Redis whose scripts may not call INFO (a managed service's
ACL, ``rename-command``) turns off the check for a Redis restarted from its
persistence (epoch41: ``screencodec:run`` keeps INFO's ``run_id``).

Found (a real redis-server with an ACL user denied ``info``, and one with
INFO renamed away; a real ``screencodec relay``): the relay started and
said nothing; the check was skipped silently, and an operator relying on it
with RDB snapshots would hand a stranger a live host's code after a
restart. Expected, and now: the relay says so once, at start, on its
listening line and in one WARNING log line (``directory_caveat``), with
what to do (allow INFO, or AOF ``appendfsync always``, or no persistence);
it still starts and serves. A Redis that lets the scripts call INFO says
nothing of it.
"""

from __future__ import annotations

import time

import pytest
import redis

from .cluster import RedisServer, RelayProcess

ADVICE = ("WARNING: this Redis refuses INFO inside the relays' scripts (an ACL without +info,"
          " rename-command, a managed service), so a Redis restarted from its persistence"
          " (an RDB snapshot, a replica promoted) is not noticed, and a stranger may take a"
          " live host's code the snapshot lacks: allow INFO (ACL +info) or run Redis with"
          " AOF appendfsync always, or without persistence (docs/relay.md)")


def _relay_says(server: RedisServer, url: str) -> str:
    relay = RelayProcess(server, claim_ttl=3.0, url=url)
    try:
        # A heartbeat (1 s) or two: the warning is said once, not per beat.
        time.sleep(2.5)
        relay.stop()
        return relay.output()
    finally:
        relay.kill()


@pytest.mark.parametrize("how", ["acl", "rename-command"])
def test_a_relay_says_once_that_its_redis_refuses_info_in_scripts(how: str) -> None:
    server = RedisServer()
    if how == "rename-command":
        server.options = ["--rename-command", "INFO", ""]
    server.start()
    try:
        url = server.url
        if how == "acl":
            admin = redis.Redis.from_url(server.url)
            try:
                admin.acl_setuser("relay", enabled=True, passwords=["+relay-pw"], keys=["*"],
                                  channels=["*"], commands=["+@all", "-info"])
            finally:
                admin.close()
            url = f"redis://relay:relay-pw@127.0.0.1:{server.port}/0"
        said = _relay_says(server, url)
        listening = next(line for line in said.splitlines() if "relay listening" in line)
        assert listening.endswith(ADVICE), listening
        assert said.count("event=directory_caveat") == 1, said
        assert "directory_error" not in said, said  # it works otherwise
    finally:
        server.stop()


def test_a_relay_whose_redis_lets_scripts_call_info_says_nothing_of_it(
        redis_server: RedisServer) -> None:
    said = _relay_says(redis_server, redis_server.url)
    assert "WARNING" not in said and "directory_caveat" not in said, said
