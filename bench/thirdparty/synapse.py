"""Record the Matrix client-server API of Synapse (the reference homeserver) while the real client library
matrix-nio (its AsyncClient) runs a chat bot's integration session against it, then verify the pact against a
fresh, empty Synapse.

    .venv/bin/python bench/thirdparty/synapse.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE what an operator knows: a
user's password for a NAME that says password (the session's users and passwords are fixed, the same in every
phase), else a placeholder (an access token is handed out by the provider; no operator knows it beforehand).

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/synapse/ with matrix-synapse (the provider) and matrix-nio
           (the consumer), every package pinned (PINS), installed once per pin set.
  direct   a fresh Synapse and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Synapse, `pact-recorder record --consumer matrix-nio --provider synapse` in front of
           it, the same session with the recorder's URL as the homeserver URL; SIGTERM makes it write
           OUT/matrix-nio-synapse.json.
  verify   a third fresh Synapse (empty: no user, no room, no media), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, whether a password or an access token of the recorded run is in the pact or
the states file, exchanges, interactions, verified green / total) and the failures grouped by cause, and
writes them as JSON to DIR/figures.json (and --json FILE).

Each Synapse: `python -m synapse.app.homeserver --generate-config --server-name localhost --report-stats=no`
in a new, empty data dir (new signing key, macaroon and form secrets, sqlite database), then started with that
config and a second one of the harness's (CONFIG, merged over it): one plain HTTP listener on a free port of
127.0.0.1 with the client resources only (no federation listener, `federation_domain_whitelist: []`, no
trusted key servers, URL previews off, `report_stats: false`), `enable_registration` and
`enable_registration_without_verification` (registration completes with the `m.login.dummy` stage), every
rate limit raised so far that the session never meets one, publication to the room directory allowed, bcrypt
at 4 rounds. Ready once `/_matrix/client/versions` answers.

The API: the Matrix client-server API under /_matrix/client/v3 (media under /_matrix/media/v3 for the upload
and /_matrix/client/v1/media for the config and downloads), JSON both ways, errors as `{"errcode", "error"}`.
Registration and login hand out an access token (and a device id), sent back as `Authorization: Bearer TOKEN`;
rooms get ids the server generates (`!opaque:localhost`), events ids (`$opaque`), media ids in `mxc://` URIs;
sync, /messages and /context hand out opaque pagination tokens that the next call sends back (`since`,
`from`); a message is a PUT to a transaction id the client chooses (the session's are fixed: `txn-...`).
Users are `@alice:localhost` and `@bob:localhost`, same names and passwords every phase.

The session is a chat bot's integration test: each step is one "test" (passed when it behaves as expected: the
call succeeds and the checks hold, or the refusal it provokes on purpose comes with the expected HTTP status and
errcode). It registers two users (and a third time alice: 400 M_USER_IN_USE), reads the login flows, logs in
with a wrong password (403) and with the right ones, whoami, sets and reads display names and the avatar URL
(an uploaded image), reads a profile; reads the media config, uploads and downloads a file and asks for an
unknown one (404); creates a public room with an alias, name and topic and a private one, resolves the alias,
reads the whole state and one state event, changes the topic, reads the directory visibility and the public
room list; sends messages (one of them twice under the same transaction id: the same event id), syncs
(initial, then with the `since` token), paginates /messages backwards in two pages, reads an event and its
context, redacts one; bob joins by alias, alice invites bob to the private room, bob joins it by id, typing
notifications, a read receipt and read markers, joined members and joined rooms, alice kicks bob, bob is
refused rejoining it (403) and sending to it (403), bob leaves and forgets the lobby; joining an unknown alias
(404); account data and room tags (put, get, delete: matrix-nio has no methods for these, so through its raw
`AsyncClient.send`, with its session's headers); lists devices and renames one; presence; an extra alias put
and deleted; logs bob out and uses his dead token (401 M_UNKNOWN_TOKEN). Every process started is stopped on
the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (Synapse 1.163.2, matrix-nio 0.26.0): 68 steps, 68 / 68 as expected both directly and through the
recorder (the same outcome each; nio made no discovery or /versions call: its login flows are `GET /login`); 74
exchanges, all recorded, 66 interactions (64 with a provider state). Every password (request body `$.password`,
5), every `Authorization: Bearer` (68) and every handed-out `$.access_token` (3) redacted: no file the harness
keeps (pact, states file, logs, reports) holds a password or an access token of the session (the placeholder
keeps Synapse's prefix, `Bearer syt_<redacted>`). verify with `--states-from-recording` alone: exit 2,
`password` (alice's: 4 requests), `password_2` (bob's: 1 setup step), `password_3` (the refused re-registration's:
1); no access token is asked for (setups log in and send back what the login answered), nor the refused login's
wrong password. With the three passwords (`--secret password=<alice's> --secret password_2=<bob's> --secret
password_3=<the re-registration's>`, all chosen by the session's author): 23 / 66 green, the same in every run.
Left, by class:
(1) 22: the public room made with an alias (`harness-lobby`). Nothing undoes a createRoom (no client API deletes a
room; the alias stays taken), so after the first setup that makes it every later setup's `POST /createRoom` is
refused 400 M_ROOM_IN_USE, its fresh-name retry is refused too (class 3), the room's id is never handed out and
the recording's id goes out literally: `GET /rooms/!<recorded>/state` 200 -> 403 "User @alice:localhost not in
room", `GET /directory/list/room/!<recorded>` 200 -> 404 "Unknown room", `PUT /directory/room/#harness-extra`
200 -> 400 "Room does not exist" (the recorded id in its body), send, state events, topic, tags 200 -> 403 (8
with a status first), and 14 whose setup fails on the same room (alias read and delete, messages, event,
context, redaction, leave, forget, tags, both syncs' `items exist` at the topic change). The private room (no
alias) is made anew in each setup: its invite, typing and send pass.
(2) 12: bob's access token. bob never logs in: his only token is the one his registration handed out, and accounts
persist (nothing undoes a registration), so after the first setup that registers him every later `POST
/register` of bob is refused 400 M_USER_IN_USE (its retry refused, class 3), no token is captured and the
interaction sends the placeholder `Bearer syt_<redacted>`: 401 M_UNKNOWN_TOKEN for his joins (by id 200 and 403,
by alias, an unknown alias 404), `joined_rooms`, `publicRooms`, `GET /profile/@alice:localhost`, the read
receipt, the read markers, his refused send (403 -> 401) and his logout; and the kick, whose setup replays his
receipt (401).
(3) 4: protocol constants taken for names the consumer chose, and made fresh. The state "the names it chooses are
free" lists `type`, `identifier.type`, `auth.type`, `preset` and `visibility` with the user and device names,
and verify suffixes them all: both `POST /createRoom` 200 -> 400 M_BAD_JSON "'public_chat-6' is not a valid
preset" (`"visibility": "private-7"`), `POST /login` with `"type": "m-22.login.password"` 200 -> 400 "Unknown
login identifier type", `POST /register` (alice exists: M_USER_IN_USE, then the retry with `"auth": {"type":
"m-27.login.dummy"}` and the password given with --secret suffixed too, `...-27`: 400 M_INVALID_PARAM "Invalid
login submission"). The same retries are what fail in the setups of classes 1 and 2.
(4) 4: an account a login needs, made by a registration the setup does not replay. The first 4 interactions in
verify's order (`GET /media/config`, both media downloads, `GET /account/whoami` 200) set "values handed out by
earlier responses" up by replaying only `POST /login` (the step that handed the token out), not the
registration before it: 403 "Invalid username or password" on the empty server, then 401 with the placeholder.
From the 5th on an earlier setup has registered alice, and the same login succeeds: order-made greens.
(5) 1: `GET /rooms/!<private>/joined_members`: bob missing from `$.joined` (his join in the setup, class 2) and
alice's `display_name` and `avatar_url` null: the profile writes that set them are not among its states.
Besides: the undo guesses Synapse has no route for (DELETE of a message's transaction path, typing, presence,
account data: 405 M_UNRECOGNIZED; of the display name and avatar URL with the placeholder token: 401) change
nothing; some greens are order-made (`POST /register returns 400`: earlier setups registered alice; `GET
/directory/room/#harness-lobby`: the first lobby persists).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import yaml  # the recorder's own dependency: its states file is YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

SYNAPSE = "1.163.2"
NIO = "0.26.0"
PINS = [
    f"matrix-synapse=={SYNAPSE}", f"matrix-nio=={NIO}",
    # what they resolve to
    "aiofiles==25.1.0", "aiohappyeyeballs==2.7.1", "aiohttp==3.14.5", "aiohttp_socks==0.12.0", "aiosignal==1.4.0",
    "annotated-types==0.8.0", "attrs==26.1.0", "Automat==25.4.16", "bcrypt==5.0.0", "bleach==6.4.0",
    "canonicaljson==2.0.0", "certifi==2026.10.19.post1", "cffi==2.1.1", "charset-normalizer==3.5.3",
    "constantly==23.10.4", "cryptography==50.0.2", "frozenlist==1.8.0", "h11==0.16.0", "h2==4.4.1",
    "hpack==4.2.0", "hyperframe==6.1.0", "hyperlink==21.0.0", "idna==3.21", "ijson==3.6.0",
    "immutabledict==4.3.1", "Incremental==24.11.0", "Jinja2==3.1.6", "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1", "MarkupSafe==3.0.4", "matrix-common==1.3.0", "msgpack==1.2.4",
    "multidict==7.2.1", "multipart==2.0.1", "netaddr==1.3.0", "packaging==26.4", "phonenumbers==9.0.43",
    "pillow==13.0.0", "prometheus_client==0.26.0", "propcache==0.5.4", "pyasn1==0.6.5", "pyasn1_modules==0.4.2",
    "pycparser==3.12", "pycryptodome==4.5.0", "pydantic==2.14.4", "pydantic_core==2.50.5", "pymacaroons==0.13.0",
    "PyNaCl==1.6.2", "pyOpenSSL==26.4.0", "pyparsing==3.3.3", "pyrsistent==0.20.0", "python-multipart==0.0.34",
    "python-socks==3.2.2", "PyYAML==6.0.4", "referencing==0.37.0", "requests==2.34.2", "rpds-py==2026.9.1",
    "semantic-version==2.10.0", "service-identity==26.1.0", "setuptools==84.2.1", "setuptools-rust==1.13.0",
    "signedjson==1.1.4", "six==1.17.0", "sortedcontainers==2.4.0", "treq==26.7.0", "Twisted==26.10.0",
    "typing-inspection==0.4.5", "typing_extensions==4.16.0", "unpaddedbase64==2.1.0", "urllib3==2.8.0",
    "webencodings==0.6.1", "yarl==1.25.1", "zope.interface==8.7",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "synapse"
VENV = HOME / "venv"
PY = VENV / "bin" / "python"
CONSUMER, PROVIDER = "matrix-nio", "synapse"
SERVER_NAME = "localhost"
USERS = {"alice": "alice-harness-pass-1", "bob": "bob-harness-pass-2"}  # the session's accounts
OTHER_PASSWORD, WRONG_PASSWORD = "another-password", "not-the-password"  # a refused re-registration, a bad login
SENT_PASSWORDS = {  # (user, status answered): the password the session sent
    ("alice", 200): USERS["alice"],
    ("bob", 200): USERS["bob"],
    ("alice", 400): OTHER_PASSWORD,
    ("alice", 403): WRONG_PASSWORD,
}
SCRIPT_SECONDS = 300
common.READY_SECONDS = max(common.READY_SECONDS, 120)  # a new server creates its sqlite schema first

FAST = {"per_second": 1000, "burst_count": 10000}  # no session meets it
CONFIG = {
    "report_stats": False,
    "enable_registration": True,
    "enable_registration_without_verification": True,
    "federation_domain_whitelist": [],
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "url_preview_enabled": False,
    "room_list_publication_rules": [{"action": "allow"}],
    "bcrypt_rounds": 4,
    "rc_message": FAST,
    "rc_registration": FAST,
    "rc_registration_token_validity": FAST,
    "rc_login": {"address": FAST, "account": FAST, "failed_attempts": FAST},
    "rc_joins": {"local": FAST, "remote": FAST},
    "rc_joins_per_room": FAST,
    "rc_invites": {"per_room": FAST, "per_user": FAST, "per_issuer": FAST},
    "rc_third_party_invite": FAST,
    "rc_3pid_validation": FAST,
    "rc_admin_redaction": FAST,
    "rc_key_requests": FAST,
    "rc_media_create": FAST,
    "rc_presence": {"per_user": FAST},
    "rc_delayed_event_mgmt": FAST,
    "rc_room_creation": FAST,
    "rc_reports": FAST,
    "rc_user_directory": FAST,
    "rc_profile": FAST,
}


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its python."""
    stamp = HOME / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and PY.is_file():
        return PY
    print(f"setup: installing {', '.join(PINS[:2])} (and what they need) into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(PY, "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return PY


def clean_env(work: Path) -> dict[str, str]:
    """The environment less any Synapse setting or proxy of the user's."""
    drop = ("SYNAPSE_", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {"HOME": str(work), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


# --- the homeserver ----------------------------------------------------------------------------------


def start_synapse(stack: ExitStack, work: Path) -> str:
    """A fresh homeserver (new data dir, keys and sqlite database) in `work`; its URL once it answers."""
    shutil.rmtree(work, ignore_errors=True)
    data = work / "data"
    data.mkdir(parents=True)
    env = clean_env(work)
    generated = data / "homeserver.yaml"
    cmd = [str(PY), "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME, "--config-path", str(generated)]
    cmd += ["--generate-config", "--report-stats=no", "--data-directory", str(data)]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode or not generated.is_file():
        raise RuntimeError(f"synapse --generate-config failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    port = free_port()
    listener = {"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False, "x_forwarded": False}
    listener["resources"] = [{"names": ["client"], "compress": False}]
    ours = data / "harness.yaml"
    ours.write_text(json.dumps(CONFIG | {"listeners": [listener]}, indent=1) + "\n")  # JSON is YAML
    cmd = [str(PY), "-m", "synapse.app.homeserver", "--config-path", str(generated), "--config-path", str(ours)]
    log = work / "synapse.out"
    proc = start(stack, cmd, log, cwd=work, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/_matrix/client/versions", proc, log)
    return url


# --- the bot's session -------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the homeserver `url`, in the venv; its steps' outcomes as a suite's counts, and the
    access tokens it was handed (kept in memory only)."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "bot_session.py", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    env = clean_env(work) | {"HARNESS_USERS": json.dumps([USERS, OTHER_PASSWORD, WRONG_PASSWORD])}
    proc = start(stack, [str(PY), str(driver), url, str(out), str(work)], log, cwd=work, env=env)
    try:
        proc.wait(SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SCRIPT_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps(done["results"], indent=1) + "\n")  # the tokens do not stay on disk
    results = done["results"]
    passed = sum(r["ok"] for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [r["command"] for r in results if not r["ok"]],
        "commands": results,
        "tokens": done["tokens"],
    }


# --- the DRIVER: run in the venv ---------------------------------------------------------------------

DRIVER = r'''
"""A chat bot's integration session: matrix-nio's AsyncClient against the homeserver argv[1], each step a
"test" with its expected outcome ("ok", or "HTTP-STATUS ERRCODE" for a refusal provoked on purpose); the
outcomes and the access tokens handed out written as JSON to argv[2]."""

import asyncio
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, ErrorResponse, RoomVisibility, RoomPreset
from nio.api import Api, MessageDirection

URL, OUT, WORK = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
USERS, OTHER_PASSWORD, WRONG_PASSWORD = json.loads(os.environ["HARNESS_USERS"])
SERVER = "localhost"
ONLY_MESSAGES = {"types": ["m.room.message"]}
results: list[dict] = []
tokens: list[str] = []
ids: dict = {}


class Refused(Exception):
    def __init__(self, outcome, detail):
        super().__init__(outcome)
        self.outcome, self.detail = outcome, detail


def need(resp):
    """The response, or Refused("STATUS ERRCODE") for an error response."""
    if isinstance(resp, tuple):  # upload: (response, decryption keys)
        resp = resp[0]
    if isinstance(resp, ErrorResponse):
        status = resp.transport_response.status if resp.transport_response is not None else "?"
        raise Refused(f"{status} {resp.status_code}", str(resp))
    return resp


def check(got, want, what=""):
    assert got == want, f"{what}: got {got!r}, want {want!r}"


async def step(name, fn, expect="ok"):
    t = time.monotonic()
    detail = None
    try:
        await fn()
        outcome = "ok"
    except Refused as e:
        outcome, detail = e.outcome, e.detail
    except AssertionError as e:
        outcome, detail = "wrong", str(e) or traceback.format_exc(limit=2)
    except Exception as e:  # noqa: BLE001 - every failure is an outcome
        outcome, detail = type(e).__name__, f"{e}\n{traceback.format_exc(limit=3)}"
    result = {"command": name, "exit": outcome, "expect": expect, "ok": outcome == expect}
    result["seconds"] = round(time.monotonic() - t, 2)
    if outcome != expect and detail:
        result["output"] = detail[-600:]
    results.append(result)
    print(f"{'ok  ' if result['ok'] else 'FAIL'} {name}: {outcome}", flush=True)


def client(user=None):
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=60, store_sync_tokens=False)
    return AsyncClient(URL, f"@{user}:{SERVER}" if user else "", config=config, store_path=str(WORK))


async def raw(c, method, path, body=None):
    """A request through the client's own session (`AsyncClient.send`) with its token: (status, JSON)."""
    headers = {"Authorization": f"Bearer {c.access_token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body)
    async with await c.send(method, path, data, headers) as r:
        got = await r.json(content_type=None)
        if r.status >= 400:
            raise Refused(f"{r.status} {got.get('errcode')}", json.dumps(got))
        return got


async def main():
    alice, bob = client(), client()
    alice2 = client("alice")
    mallory = client("alice")
    clients = [alice, bob, alice2, mallory]
    try:
        await session(alice, bob, alice2, mallory)
    finally:
        for c in clients:
            await c.close()


async def session(alice0, bob, alice, wrong):
    A, B = f"@alice:{SERVER}", f"@bob:{SERVER}"

    # --- accounts -------------------------------------------------------------------------------------
    async def _():
        r = need(await alice0.login_info())
        assert "m.login.password" in r.flows, r.flows
    await step("login flows", _)

    async def _():
        r = need(await alice0.register("alice", USERS["alice"], device_name="harness-register"))
        check(r.user_id, A, "user_id")
        tokens.append(r.access_token)
    await step("register alice", _)

    async def _():
        r = need(await bob.register("bob", USERS["bob"], device_name="bob-bot"))
        check(r.user_id, B, "user_id")
        tokens.append(r.access_token)
    await step("register bob", _)

    async def _():
        need(await client().register("alice", OTHER_PASSWORD))
    await step("register alice again", _, expect="400 M_USER_IN_USE")

    async def _():
        need(await wrong.login(WRONG_PASSWORD, device_name="harness-wrong"))
    await step("login alice with a wrong password", _, expect="403 M_FORBIDDEN")

    async def _():
        r = need(await alice.login(USERS["alice"], device_name="harness-bot"))
        tokens.append(r.access_token)
        ids["alice_device"] = r.device_id
    await step("login alice", _)

    async def _():
        r = need(await alice.whoami())
        check(r.user_id, A, "whoami")
        check(r.device_id, ids["alice_device"], "device")
    await step("whoami alice", _)

    async def _():
        r = need(await bob.whoami())
        check(r.user_id, B, "whoami")
    await step("whoami bob", _)

    # --- profile and media ----------------------------------------------------------------------------
    async def _():
        need(await alice.set_displayname("Alice the Bot"))
    await step("set display name", _)

    async def _():
        r = need(await alice.get_displayname())
        check(r.displayname, "Alice the Bot", "displayname")
    await step("get display name", _)

    async def _():
        r = need(await alice.get_displayname(B))
        check(r.displayname, "bob", "bob's default displayname")
    await step("get another user's display name", _)

    async def _():
        r = need(await alice.content_repository_config())
        assert r.upload_size and r.upload_size > 1000, r.upload_size
    await step("media config", _)

    picture = bytes(range(256)) * 8  # 2 KiB of bytes, the same every phase

    async def _():
        r = need(await alice.upload(io.BytesIO(picture), content_type="image/png", filename="avatar.png",
                                    filesize=len(picture)))
        assert r.content_uri.startswith(f"mxc://{SERVER}/"), r.content_uri
        ids["mxc"] = r.content_uri
    await step("upload an avatar image", _)

    async def _():
        r = need(await alice.download(ids["mxc"]))
        check(r.body, picture, "downloaded bytes")
        check(r.content_type, "image/png", "content type")
    await step("download it", _)

    async def _():
        need(await alice.download(f"mxc://{SERVER}/NoSuchMediaIdHere"))
    await step("download unknown media", _, expect="404 M_NOT_FOUND")

    async def _():
        need(await alice.set_avatar(ids["mxc"]))
    await step("set avatar url", _)

    async def _():
        r = need(await alice.get_avatar())
        check(r.avatar_url, ids["mxc"], "avatar")
    await step("get avatar url", _)

    async def _():
        r = need(await bob.get_profile(A))
        check((r.displayname, r.avatar_url), ("Alice the Bot", ids["mxc"]), "profile")
    await step("get profile", _)

    # --- rooms ----------------------------------------------------------------------------------------
    async def _():
        r = need(await alice.room_create(visibility=RoomVisibility.public, alias="harness-lobby",
                                         name="Harness Lobby", topic="where the bots meet",
                                         preset=RoomPreset.public_chat))
        ids["lobby"] = r.room_id
    await step("create a public room with an alias", _)

    async def _():
        r = need(await alice.room_create(name="Harness Back Office", preset=RoomPreset.private_chat))
        ids["office"] = r.room_id
    await step("create a private room", _)

    async def _():
        r = need(await bob.room_resolve_alias(f"#harness-lobby:{SERVER}"))
        check(r.room_id, ids["lobby"], "resolved")
    await step("resolve the alias", _)

    async def _():
        r = need(await alice.room_get_state(ids["lobby"]))
        types = {e["type"] for e in r.events}
        assert {"m.room.create", "m.room.name", "m.room.topic", "m.room.canonical_alias"} <= types, types
    await step("get the room's state", _)

    async def _():
        r = need(await alice.room_get_state_event(ids["lobby"], "m.room.name"))
        check(r.content, {"name": "Harness Lobby"}, "name")
    await step("get one state event", _)

    async def _():
        need(await alice.update_room_topic(ids["lobby"], "bots and people"))
        r = need(await alice.room_get_state_event(ids["lobby"], "m.room.topic"))
        check(r.content.get("topic"), "bots and people", "topic")
    await step("change the topic", _)

    async def _():
        r = need(await alice.room_get_visibility(ids["lobby"]))
        check(r.visibility, "public", "visibility")
    await step("directory visibility", _)

    async def _():
        r = need(await bob.list_public_rooms(limit=10))
        check([room.room_id for room in r.public_rooms], [ids["lobby"]], "public rooms")
    await step("public rooms", _)

    async def _():
        need(await alice.room_put_alias(f"#harness-extra:{SERVER}", ids["lobby"]))
        r = need(await alice.room_resolve_alias(f"#harness-extra:{SERVER}"))
        check(r.room_id, ids["lobby"], "extra alias")
    await step("add a second alias", _)

    async def _():
        need(await alice.room_delete_alias(f"#harness-extra:{SERVER}"))
    await step("delete the second alias", _)

    async def _():
        need(await alice.room_resolve_alias(f"#harness-extra:{SERVER}"))
    await step("resolve the deleted alias", _, expect="404 M_NOT_FOUND")

    # --- messages and sync ----------------------------------------------------------------------------
    async def _():
        r = need(await alice.room_send(ids["lobby"], "m.room.message", {"msgtype": "m.text", "body": "hello"},
                                       tx_id="txn-hello"))
        ids["hello"] = r.event_id
    await step("send a message", _)

    async def _():
        r = need(await alice.room_send(ids["lobby"], "m.room.message", {"msgtype": "m.text", "body": "hello"},
                                       tx_id="txn-hello"))
        check(r.event_id, ids["hello"], "same transaction, same event")
    await step("send it again under the same transaction id", _)

    async def _():
        r = need(await alice.room_send(ids["lobby"], "m.room.message",
                                       {"msgtype": "m.notice", "body": "I am a bot"}, tx_id="txn-notice"))
        ids["notice"] = r.event_id
    await step("send a notice", _)

    async def _():
        r = need(await alice.sync(timeout=0, full_state=True))
        assert ids["lobby"] in r.rooms.join and ids["office"] in r.rooms.join, list(r.rooms.join)
        ids["alice_since"] = r.next_batch
    await step("initial sync", _)

    async def _():
        r = need(await bob.join(f"#harness-lobby:{SERVER}"))
        check(r.room_id, ids["lobby"], "joined")
    await step("bob joins by alias", _)

    async def _():
        r = need(await bob.room_send(ids["lobby"], "m.room.message", {"msgtype": "m.text", "body": "hi bot"},
                                     tx_id="txn-bob-1"))
        ids["bob_hi"] = r.event_id
    await step("bob sends a message", _)

    async def _():
        r = need(await alice.sync(timeout=0, since=ids["alice_since"]))
        room = r.rooms.join.get(ids["lobby"])
        assert room is not None, list(r.rooms.join)
        bodies = [getattr(e, "body", None) for e in room.timeline.events]
        assert "hi bot" in bodies, bodies
        ids["alice_since"] = r.next_batch
    await step("incremental sync sees bob", _)

    async def _():
        r = need(await alice.room_messages(ids["lobby"], start="", limit=2, direction=MessageDirection.back,
                                           message_filter=ONLY_MESSAGES))
        check([e.event_id for e in r.chunk], [ids["bob_hi"], ids["notice"]], "page 1")
        ids["page"] = r.end
    await step("messages, first page", _)

    async def _():
        r = need(await alice.room_messages(ids["lobby"], start=ids["page"], limit=2, message_filter=ONLY_MESSAGES))
        check(r.chunk[0].event_id, ids["hello"], "page 2")
    await step("messages, second page", _)

    async def _():
        r = need(await bob.room_get_event(ids["lobby"], ids["hello"]))
        check(r.event.body, "hello", "event")
    await step("get an event", _)

    async def _():
        r = need(await bob.room_context(ids["lobby"], ids["notice"], limit=2))
        check(r.event.event_id, ids["notice"], "context event")
    await step("event context", _)

    async def _():
        need(await alice.room_redact(ids["lobby"], ids["notice"], reason="obsolete", tx_id="txn-redact"))
    await step("redact the notice", _)

    # --- membership -----------------------------------------------------------------------------------
    async def _():
        need(await alice.room_invite(ids["office"], B))
    await step("invite bob to the private room", _)

    async def _():
        r = need(await bob.sync(timeout=0))
        assert ids["office"] in r.rooms.invite, list(r.rooms.invite)
        ids["bob_since"] = r.next_batch
    await step("bob's sync shows the invite", _)

    async def _():
        r = need(await bob.join(ids["office"]))
        check(r.room_id, ids["office"], "joined")
    await step("bob joins by room id", _)

    async def _():
        r = need(await alice.joined_members(ids["office"]))
        check(sorted(m.user_id for m in r.members), [A, B], "members")
    await step("joined members", _)

    async def _():
        r = need(await bob.joined_rooms())
        check(sorted(r.rooms), sorted([ids["lobby"], ids["office"]]), "joined rooms")
    await step("joined rooms", _)

    async def _():
        need(await alice.room_typing(ids["office"], True, timeout=10000))
    await step("typing", _)

    async def _():
        r = need(await alice.room_send(ids["office"], "m.room.message", {"msgtype": "m.text", "body": "secret plan"},
                                       tx_id="txn-office-1"))
        ids["plan"] = r.event_id
        need(await alice.room_typing(ids["office"], False))
    await step("send in the private room, stop typing", _)

    async def _():
        need(await bob.update_receipt_marker(ids["office"], ids["plan"]))
    await step("read receipt", _)

    async def _():
        need(await bob.room_read_markers(ids["office"], ids["plan"], ids["plan"]))
    await step("read markers", _)

    async def _():
        r = need(await bob.sync(timeout=0, since=ids["bob_since"]))
        room = r.rooms.join.get(ids["office"])
        assert room is not None, list(r.rooms.join)
        ids["bob_since"] = r.next_batch
    await step("bob's incremental sync", _)

    async def _():
        need(await alice.room_kick(ids["office"], B, reason="meeting over"))
    await step("kick bob", _)

    async def _():
        need(await bob.join(ids["office"]))
    await step("bob rejoins the private room", _, expect="403 M_FORBIDDEN")

    async def _():
        need(await bob.room_send(ids["office"], "m.room.message", {"msgtype": "m.text", "body": "let me in"},
                                 tx_id="txn-bob-2"))
    await step("bob sends to a room he is not in", _, expect="403 M_FORBIDDEN")

    async def _():
        need(await bob.room_leave(ids["lobby"]))
    await step("bob leaves the lobby", _)

    async def _():
        need(await bob.room_forget(ids["lobby"]))
    await step("bob forgets the lobby", _)

    async def _():
        need(await bob.join(f"#no-such-room:{SERVER}"))
    await step("join an unknown room", _, expect="404 M_NOT_FOUND")

    # --- account data, tags, devices, presence ---------------------------------------------------------
    v3 = "/_matrix/client/v3"

    async def _():
        await raw(alice, "PUT", f"{v3}/user/{A}/account_data/org.example.harness", {"greeting": "hi", "n": 3})
    await step("put account data", _)

    async def _():
        got = await raw(alice, "GET", f"{v3}/user/{A}/account_data/org.example.harness")
        check(got, {"greeting": "hi", "n": 3}, "account data")
    await step("get account data", _)

    async def _():
        await raw(alice, "PUT", f"{v3}/user/{A}/rooms/{ids['lobby']}/tags/u.work", {"order": 0.5})
        await raw(alice, "PUT", f"{v3}/user/{A}/rooms/{ids['lobby']}/tags/m.favourite", {})
    await step("tag a room", _)

    async def _():
        got = await raw(alice, "GET", f"{v3}/user/{A}/rooms/{ids['lobby']}/tags")
        check(sorted(got["tags"]), ["m.favourite", "u.work"], "tags")
    await step("get the room's tags", _)

    async def _():
        await raw(alice, "DELETE", f"{v3}/user/{A}/rooms/{ids['lobby']}/tags/u.work")
        got = await raw(alice, "GET", f"{v3}/user/{A}/rooms/{ids['lobby']}/tags")
        check(sorted(got["tags"]), ["m.favourite"], "tags")
    await step("untag it", _)

    async def _():
        r = need(await alice.devices())
        names = sorted(d.display_name for d in r.devices)
        check(names, ["harness-bot", "harness-register"], "devices")
    await step("list devices", _)

    async def _():
        need(await alice.update_device(ids["alice_device"], {"display_name": "harness-bot-renamed"}))
    await step("rename a device", _)

    async def _():
        need(await alice.set_presence("online", "running tests"))
        r = need(await alice.get_presence(A))
        check(r.status_msg, "running tests", "status")
    await step("presence", _)

    # --- logging out ----------------------------------------------------------------------------------
    async def _():
        need(await bob.logout())
    await step("bob logs out", _)

    async def _():
        bob.access_token = tokens[1]  # the token logout ended
        need(await bob.whoami())
    await step("whoami with the dead token", _, expect="401 M_UNKNOWN_TOKEN")

    async def _():
        r = need(await alice.whoami())
        check(r.user_id, A, "still logged in")
    await step("whoami alice at the end", _)


asyncio.run(main())
OUT.write_text(json.dumps({"results": results, "tokens": tokens}, indent=1) + "\n")
'''


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str, out: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names, VALUE the password the session sent where the
    recording used NAME (the pact's and the states file's requests that name it: who, answered what), as the
    operator who wrote the session knows it; a placeholder for any other NAME (none an operator could know)."""
    where = secret_requests(out)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = {SENT_PASSWORDS.get(request) for request in where.get(name, ())} - {None}
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def secret_requests(out: Path) -> dict[str, set[tuple[str, int]]]:
    """For each secret name a recorded request body holds, the (user, status) of those requests: the pact's
    interactions (`comments.pactRecorder.secrets`) and the states file's setup steps (`secrets`)."""
    found: dict[str, set[tuple[str, int]]] = {}

    def note(body, status, secrets) -> None:
        if not isinstance(body, dict):
            return
        user = body.get("username") or (body.get("identifier") or {}).get("user") or body.get("user") or ""
        user = user.removeprefix("@").split(":")[0]
        for s in secrets or []:
            if s.get("in") == "body" and s.get("secret"):
                found.setdefault(s["secret"], set()).add((user, status))

    pact = json.loads((out / f"{CONSUMER}-{PROVIDER}.json").read_text())
    for i in pact["interactions"]:
        body = (i["request"].get("body") or {}).get("content")
        note(body, i["response"]["status"], i.get("comments", {}).get("pactRecorder", {}).get("secrets"))
    states = out / f"{CONSUMER}-{PROVIDER}.states.yaml"
    if states.is_file():

        def walk(node) -> None:
            if isinstance(node, dict):
                if "secrets" in node and "status" in node:
                    note(node.get("json"), node["status"], node["secrets"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(yaml.safe_load(states.read_text()))
    return found


def leaked(work: Path, secrets: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each kind of secret, the files the harness kept (the pact and states file, the logs, the reports;
    not the homeservers' own data dirs, whose database holds their tokens) that hold one of its values in clear."""
    files = [p for p in work.rglob("*") if p.is_file() and "server" not in p.relative_to(work).parts]
    found = {}
    for kind, values in secrets.items():
        hits = [p for p in files if any(v and v in p.read_text(errors="replace") for v in values)]
        found[kind] = sorted(str(p.relative_to(work)) for p in hits)
    return found


def masked(text: str) -> str:
    for password in [*USERS.values(), OTHER_PASSWORD, WRONG_PASSWORD]:
        text = text.replace(password, "****")
    return text


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(stack, start_synapse(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_synapse(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(stack, url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    tokens = recorded.pop("tokens") + (direct_run.pop("tokens") if direct_run else [])
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_synapse(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"], out)
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_synapse(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        run["args"] = [masked(a) for a in run["args"]]  # figures.json keeps no password either
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    on_disk = leaked(work, {"passwords": [*USERS.values(), OTHER_PASSWORD, WRONG_PASSWORD], "access tokens": tokens})
    for kind, files in on_disk.items():
        print(f"{kind} of the session in clear in: {', '.join(files) or 'no file kept (pact, states file, logs)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "synapse": SYNAPSE,
        "matrix-nio": NIO,
        "pins": PINS,
        "verify_args": [masked(a) for a in args],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_in_clear": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("synapse", __doc__, phases, sys.argv[1:], setup))
