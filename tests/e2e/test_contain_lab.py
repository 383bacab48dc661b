"""rempart contain against real hosts: namespaces, nftables, OpenSSH and OpenLDAP.

Hosts ws, fs and gw are managed over SSH (a real sshd in each namespace, key auth); the
test process is the responder (.5 on the lab's own LAN /24). Every test leaves the hosts'
rulesets as it found them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _netlab  # tests/e2e is on sys.path (rootdir-relative imports)
import pytest
from _netlab import HOSTS, NetLab
from _slapd import ADMIN, ADMIN_PW, ALICE, Slapd
from _sshd import Sshd, keygen

pytestmark = pytest.mark.slow

_missing = _netlab.missing_requirements()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

BEFORE_RULES = """table inet other {
\tchain input {
\t\ttype filter hook input priority 0; policy accept;
\t\ttcp dport 8080 counter accept
\t}
}
"""


class Lab:
    def __init__(self, net: NetLab, sshd: Sshd, key: Path, wrong_key: Path, base: Path):
        self.net = net
        self.sshd = sshd
        self.key = key
        self.wrong_key = wrong_key
        self.base = base
        self.ws, self.fs, self.gw = net.addr("ws"), net.addr("fs"), net.addr("gw")
        self.ghost = self.ws.rsplit(".", 1)[0] + ".99"  # on the LAN, nobody there
        # the incident (and so the rollback files' names) is this lab's own: concurrent runs
        # must not see, or cancel, each other's rollback timers
        self.incident = f"rk-{net.tag}"

    def rollbacks(self, suffix: str = "*") -> list[Path]:
        return list(Path("/var/tmp/rempart-contain").glob(f"{self.incident}.{suffix}"))

    def timers(self) -> str:
        return subprocess.run(
            ["pgrep", "-f", f"nft -f /var/tmp/rempart-contain/{self.incident}\\."],
            capture_output=True,
            text=True,
            check=False,
        ).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("rk-lab")
    key = keygen(base / "client")
    wrong = keygen(base / "wrong")
    net = NetLab()
    sshd = Sshd(base / "ssh", [key.with_suffix(".pub")])
    try:
        net.start()
        for name in HOSTS:
            sshd.start(net.ns[name], net.addr(name))
        yield Lab(net, sshd, key, wrong, base)
    finally:
        sshd.stop()
        net.stop()


def _inventory(
    lab: Lab, tmp_path: Path, extra: str = "", fs_management: str = "", ws_management: str = ""
) -> Path:
    inv = tmp_path / "inventory.csv"
    inv.write_text(
        "name,address,role,groups,ssh,management\n"
        f"ws,{lab.ws},workstation,mairie;postes,root@{lab.ws},{ws_management}\n"
        f"fs,{lab.fs},fileserver,mairie,root@{lab.fs},{fs_management}\n"
        f"gw,{lab.gw},gateway,,root@{lab.gw},\n" + extra
    )
    return inv


def _cli(*argv: str) -> int:
    from rempart.cli import main

    return main(list(argv))


def _db(env: list[str]) -> str:
    """The store URL of the common options."""
    return env[env.index("--db") + 1]


def _replaced(env: list[str], option: str, value: str) -> list[str]:
    """The common options with the value of `option` replaced."""
    changed = [*env]
    changed[changed.index(option) + 1] = value
    return changed


def _import(lab: Lab, env: list[str], inventory: Path) -> None:
    """Replace the incident's inventory with the file `inventory`, through the CLI."""
    argv = ["contain", "inventory", "import", str(inventory), "--incident", lab.incident]
    assert _cli(*argv, "--db", _db(env)) == 0


def _context(lab: Lab, env: list[str], hosts: Any = None, **settings: Any) -> tuple[Any, Any]:
    """The store and a context for driving the engine directly, as the CLI would build them:
    the incident's inventory (or `hosts`), the lab's key, 5 s per host operation."""
    from rempart.contain import _records, inventory
    from rempart.contain.actions import Context
    from rempart.store import open_store

    store = open_store(_db(env))
    iid = _records.incident_id(store, lab.incident, create=False)
    ctx = Context(
        iid,
        inventory.load(store, iid) if hosts is None else hosts,
        "test",
        ssh_keys=[lab.key],
        known_hosts=lab.sshd.known_hosts,
        incident_key=lab.incident,
        timeout=5,
        **settings,
    )
    return store, ctx


def _cut_at_gw(lab: Lab) -> list[str]:
    """Options that cut the internet at gw for the lab's LAN, keeping backup=10.214.2.50:443."""
    backup = "backup=10.214.2.50/32:443"
    return ["--cut-internet", "gw", "--keep", backup, "--internal", lab.net.lan]


@contextmanager
def _swapped(action: Any) -> Iterator[None]:
    """`action` registered in place of the built-in action of its name, for one test only."""
    from rempart.contain.actions import ACTIONS

    real = ACTIONS._items[action.name]
    ACTIONS._items[action.name] = action
    try:
        yield
    finally:
        ACTIONS._items[action.name] = real


def _wait_until(done: Callable[[], bool], seconds: float, step: float) -> None:
    """Poll `done` until it holds or `seconds` have passed (the assertions after say which)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(step)


@pytest.fixture
def env(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Common options; imports the inventory into incident 'rk'; restores rulesets after."""
    monkeypatch.chdir(tmp_path)  # the default journal file lands here
    options = [
        "--incident",
        lab.incident,
        "--db",
        f"sqlite:///{tmp_path / 'store.db'}",
        "--ssh-key",
        str(lab.key),
        "--known-hosts",
        str(lab.sshd.known_hosts),
        "--timeout",
        "5",
    ]
    _import(lab, options, _inventory(lab, tmp_path))
    before = {n: lab.net.ruleset(n) for n in ("ws", "fs", "gw")}
    yield options
    for n, text in before.items():
        lab.net.exec(n, "nft", "-f", "-", stdin="flush ruleset\n" + text)


def test_isolate_blocks_all_but_the_allowlist_then_undo_restores_byte_for_byte(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = lab.net
    net.exec("ws", "nft", "-f", "-", stdin=BEFORE_RULES)
    before = net.ruleset("ws")
    assert net.can_connect("fs", lab.ws, 445)
    journal = ["--journal", str(tmp_path / "journal")]

    assert _cli("contain", "plan", "--isolate", "ws", *env) == 0
    shown = capsys.readouterr().out
    assert "table inet rempart_contain" in shown and lab.net.responder in shown
    assert _cli("contain", "apply", "--isolate", "ws", "--yes", *env, *journal) == 0
    out = capsys.readouterr().out
    assert "contained" in out, out
    # verified, so the rollback timer was cancelled: no saved ruleset waits to be restored
    assert not lab.rollbacks("*.nft")
    assert lab.timers() == ""
    assert not net.can_connect("fs", lab.ws, 445)  # neighbours are cut off
    assert not net.can_connect("ws", lab.fs, 445)  # and so is the host's egress
    assert not net.can_connect("ws", "10.214.2.50", 80)
    assert net.can_connect("fs", lab.fs, 445)  # others untouched
    # idempotent: applying again (no new plan in between) changes nothing
    contained = net.ruleset("ws")
    assert _cli("contain", "apply", "--isolate", "ws", "--yes", *env, *journal) == 0
    assert "already contained as planned" in capsys.readouterr().out
    assert net.ruleset("ws") == contained
    # the responder's path stays: a new SSH session works, and sees nothing left to do
    assert _cli("contain", "plan", "--isolate", "ws", *env) == 0
    assert "already applied" in capsys.readouterr().out

    assert _cli("contain", "undo", "ws", *env) == 0
    capsys.readouterr()
    assert net.ruleset("ws") == before  # byte for byte
    assert net.can_connect("fs", lab.ws, 445)
    assert (tmp_path / "journal").read_text().count('"state": "verified"') == 1
    assert _cli("contain", "log", *env[:4]) == 0
    log = capsys.readouterr().out.splitlines()
    assert len(log) == 1 and "\tisolate\tws\tundone\truleset restored exactly" in log[0]


def test_cut_internet_keeps_named_flows(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    net = lab.net
    before = net.ruleset("gw")
    assert net.can_connect("ws", "10.214.2.50", 80)
    args = [*_cut_at_gw(lab), "--probe-from", "ws", "--probe-blocked", "10.214.2.50:80", "--yes"]
    assert _cli("contain", "apply", *args, *env) == 0, capsys.readouterr()
    assert net.can_connect("ws", "10.214.2.50", 443)  # the kept flow
    assert not net.can_connect("ws", "10.214.2.50", 80)  # the rest of the internet
    assert not net.can_connect("inet", lab.fs, 445)  # and inbound from it
    assert net.can_connect("ws", lab.fs, 445)  # the LAN keeps working
    assert _cli("contain", "undo", "gw", *env) == 0
    assert net.ruleset("gw") == before
    assert net.can_connect("ws", "10.214.2.50", 80)


def _apply_unverified(lab: Lab, env: list[str], host: str, confirm: int, journal: str) -> Any:
    """Isolate `host` with a verification that fails (as if the new rules had cut the
    responder off): the host is left restoring its rules by itself. The outcome."""
    from rempart.contain import _records, engine
    from rempart.contain._hostfw import Isolate
    from rempart.contain.actions import Request

    class Unverified(Isolate):
        name = "isolate"

        def reconnect(self, ctx, change):  # as if the new rules had cut us off
            return ["a new SSH connection fails"]

    store, ctx = _context(lab, env, confirm_seconds=confirm)
    try:
        with _swapped(Unverified()):
            plan = engine.make_plan(ctx, Request(isolate=(host,)))
            [outcome] = engine.apply(store, ctx, plan, _records.Journal(lab.base / journal))
    finally:
        ctx.close()
    return outcome


def test_a_bad_apply_rolls_back_by_itself(lab: Lab, env: list[str]) -> None:
    """Verification fails (the responder's path looks cut): the host restores its rules."""
    before = lab.net.ruleset("fs")
    outcome = _apply_unverified(lab, env, "fs", 2, "j")
    assert outcome.state == "rolling_back", outcome
    assert "restores itself within 2 s" in outcome.message
    _wait_until(lambda: "rempart_contain" not in lab.net.ruleset("fs"), 10, 0.2)
    assert lab.net.ruleset("fs") == before


def test_ruleset_changed_since_the_plan_is_refused(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli("contain", "plan", "--isolate", "mairie", *env) == 0
    lab.net.exec("fs", "nft", "add", "table", "inet", "someone_else")
    assert _cli("contain", "apply", "--isolate", "mairie", "--yes", *env) == 2
    err = capsys.readouterr().err
    assert "changed since the plan" in err and "fs" in err
    assert "rempart_contain" not in lab.net.ruleset("ws")  # nothing half-applied


def test_bad_input_gets_a_clear_message(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli("contain", "plan", "--isolate", "nosuch", *env) == 2
    assert "unknown host or group: nosuch" in capsys.readouterr().err
    assert _cli("contain", "plan", "--isolate", "ws") == 2  # no --incident
    capsys.readouterr()

    wrong = _replaced(env, "--ssh-key", str(lab.wrong_key))
    assert _cli("contain", "plan", "--isolate", "ws", *wrong) == 2
    assert "SSH key was refused" in capsys.readouterr().err

    _import(lab, env, _inventory(lab, tmp_path, extra=f"ghost,{lab.ghost},,,root@{lab.ghost},\n"))
    capsys.readouterr()
    assert _cli("contain", "plan", "--isolate", "ghost", *env) == 2
    assert "unreachable" in capsys.readouterr().err


def test_a_plan_that_would_cut_the_responder_off_is_refused(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fs is managed from ws (a jump host): isolating ws as well would cut our path to fs
    inv = _inventory(lab, tmp_path, fs_management=lab.ws)
    _import(lab, env, inv)
    capsys.readouterr()
    assert _cli("contain", "apply", "--isolate", "mairie", "--yes", *env) == 2
    assert "would cut the responder's path to fs" in capsys.readouterr().err
    assert "rempart_contain" not in lab.net.ruleset("ws")


def test_disable_account_then_undo(
    env: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The password by option, then by the environment variable that the message of a
    missing password names."""
    slapd = Slapd(tmp_path / "ldap")
    try:
        slapd.start()
        assert slapd.can_bind()
        ldap = ["--ldap-url", slapd.url, "--ldap-bind-dn", ADMIN]
        argv = ["--disable-account", ALICE, "--yes", *ldap, *env]
        assert _cli("contain", "apply", *argv, "--ldap-password", ADMIN_PW) == 0
        assert not slapd.can_bind()
        monkeypatch.setenv("REMPART_LDAP_PASSWORD", ADMIN_PW)
        assert _cli("contain", "undo", ALICE, *ldap, *env) == 0, capsys.readouterr()
        assert slapd.can_bind()
    finally:
        slapd.stop()


def test_block_smb_client_at_a_local_file_server_reuses_the_guard_responder(
    lab: Lab,
    env: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rempart.guard.respond.nft import blocked_clients

    # the file server is "the machine rempart runs on": its namespace stands for it
    monkeypatch.setenv("REMPART_CONTAIN_NETNS", lab.net.ns["fs"])
    inv = _inventory(lab, tmp_path, extra=f"fsl,{lab.fs},fileserver,,,\n")
    _import(lab, env, inv)
    assert lab.net.can_connect("ws", lab.fs, 445)
    args = ["--block-smb-client", lab.ws, "--at", "fsl", *env]
    assert _cli("contain", "apply", *args, "--yes") == 0, capsys.readouterr()
    assert blocked_clients(netns=lab.net.ns["fs"]) == [lab.ws]
    assert not lab.net.can_connect("ws", lab.fs, 445)
    assert not lab.net.can_connect("ws", lab.fs, 139)
    assert _cli("contain", "apply", *args, "--yes") == 0  # idempotent
    assert "unchanged" in capsys.readouterr().out
    assert _cli("contain", "undo", *env) == 0
    assert blocked_clients(netns=lab.net.ns["fs"]) == []
    assert lab.net.can_connect("ws", lab.fs, 445)


def test_block_smb_client_at_a_remote_file_server_runs_the_guard_responder_over_ssh(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from rempart.guard.respond.nft import blocked_clients

    # fs shares this machine's file system: its Python is ours, with rempart installed
    remote = ["--remote-python", sys.executable]
    args = ["--block-smb-client", lab.ws, "--at", "fs", *env, *remote]
    assert _cli("contain", "apply", *args, "--yes") == 0, capsys.readouterr()
    assert blocked_clients(netns=lab.net.ns["fs"]) == [lab.ws]
    assert not lab.net.can_connect("ws", lab.fs, 445)
    assert lab.net.can_connect("fs", lab.fs, 445)  # only that client is cut
    assert _cli("contain", "undo", "fs", *env, *remote) == 0
    assert blocked_clients(netns=lab.net.ns["fs"]) == []
    assert lab.net.can_connect("ws", lab.fs, 445)

    # without rempart on the file server: a clear message, nothing recorded as applied
    assert (
        _cli(
            "contain",
            "plan",
            "--block-smb-client",
            lab.ws,
            "--at",
            "fs",
            *env,
            "--remote-python",
            "/nonexistent/python3",
        )
        == 2
    )
    assert "rempart must be installed on the file server" in capsys.readouterr().err


def test_undo_from_the_journal_runs_the_remote_python_it_is_given(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store out of reach, an SMB client blocked at a remote file server is unblocked by
    the guard's responder run there with --remote-python (not a bare python3)."""
    from rempart.guard.respond.nft import blocked_clients

    remote = ["--remote-python", sys.executable]  # fs shares this machine's file system
    journal = ["--journal", str(tmp_path / "journal")]
    args = ["--block-smb-client", lab.ws, "--at", "fs", *env, *remote, *journal]
    assert _cli("contain", "apply", *args, "--yes") == 0, capsys.readouterr()
    assert blocked_clients(netns=lab.net.ns["fs"]) == [lab.ws]
    capsys.readouterr()
    gone = _replaced(env, "--db", "postgresql://nobody@127.0.0.1:1/none")
    undo = ["contain", "undo", "--from-journal", *gone, *journal]
    assert _cli(*undo, "--remote-python", "/nonexistent/python3") == 1  # it is really used
    said = " ".join(capsys.readouterr().out.split())  # as Rich folded it
    assert "the guard's SMB responder failed there" in said and "/nonexistent/python3" in said
    assert blocked_clients(netns=lab.net.ns["fs"]) == [lab.ws]
    assert _cli(*undo, *remote) == 0, capsys.readouterr()
    assert f"{lab.ws} unblocked at fs" in capsys.readouterr().out
    assert blocked_clients(netns=lab.net.ns["fs"]) == []


def test_undo_from_the_journal_alone_when_the_store_is_gone(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = lab.net.ruleset("fs")
    journal = ["--journal", str(tmp_path / "journal")]
    assert _cli("contain", "apply", "--isolate", "fs", "--yes", *env, *journal) == 0
    assert not lab.net.can_connect("ws", lab.fs, 445)
    (tmp_path / "store.db").unlink()  # the store is out of reach
    gone = _replaced(env, "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert _cli("contain", "undo", "--from-journal", *gone, *journal) == 0, capsys.readouterr()
    assert lab.net.ruleset("fs") == before
    assert lab.net.can_connect("ws", lab.fs, 445)
    assert _cli("contain", "undo", "--from-journal", *gone, *journal) == 2  # nothing left


def test_a_cut_that_fails_its_probes_rolls_back_by_itself(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong expectation (a kept flow listed as to be blocked) fails verification: the
    gateway restores its previous ruleset on its own, with nobody confirming."""
    before = lab.net.ruleset("gw")
    args = [*_cut_at_gw(lab), "--probe-from", "ws", "--probe-blocked", "10.214.2.50:443"]
    args += ["--confirm-within", "5", "--yes"]
    assert _cli("contain", "apply", *args, *env) == 1  # done, needs attention
    out = capsys.readouterr().out
    assert "rolling_back" in out and "restores itself within 5 s" in out
    _wait_until(lambda: lab.net.ruleset("gw") == before, 15, 0.3)
    assert lab.net.ruleset("gw") == before
    assert lab.net.can_connect("ws", "10.214.2.50", 80)


def test_partial_failure_is_reported_host_by_host(lab: Lab, env: list[str]) -> None:
    """fs changes between the plan and its turn: ws is contained, fs is left as it was."""
    from rempart.contain import _records, engine
    from rempart.contain.actions import Request

    store, ctx = _context(lab, env, confirm_seconds=30)
    try:
        plan = engine.make_plan(ctx, Request(isolate=("ws", "fs")))
        lab.net.exec("fs", "nft", "add", "table", "inet", "someone_else")
        changed = lab.net.ruleset("fs")
        outcomes = engine.apply(store, ctx, plan, _records.Journal(lab.base / "jp"))
        assert [(o.key, o.state) for o in outcomes] == [
            ("isolate:ws", "contained"),
            ("isolate:fs", "failed"),
        ]
        assert "changed since the plan" in outcomes[1].message
        assert "left as it was" in outcomes[1].message
        assert lab.net.ruleset("fs") == changed
        undone = {o.key: o.message for o in engine.undo(store, ctx, [])}
        assert undone == {
            "isolate:fs": "never modified",
            "isolate:ws": "ruleset restored exactly as before",
        }
    finally:
        ctx.close()


def test_an_interrupted_apply_is_undone_and_its_timer_cancelled(
    lab: Lab, env: list[str], tmp_path: Path
) -> None:
    """Ctrl-C after the rules are loaded, before verification: undo restores the ruleset
    and cancels the host's rollback timer, so it cannot fire later against a new apply."""
    from rempart.contain import _records, engine
    from rempart.contain._hostfw import Isolate
    from rempart.contain.actions import Request

    class Interrupted(Isolate):
        name = "isolate"

        def verify(self, ctx, change):
            raise KeyboardInterrupt

    store, ctx = _context(lab, env, confirm_seconds=300)
    before = lab.net.ruleset("ws")
    try:
        with _swapped(Interrupted()):
            plan = engine.make_plan(ctx, Request(isolate=("ws",)))
            with pytest.raises(KeyboardInterrupt):
                engine.apply(store, ctx, plan, _records.Journal(tmp_path / "j"))
    finally:
        ctx.close()
    assert "rempart_contain" in lab.net.ruleset("ws")
    assert lab.rollbacks("*.pid")  # the timer is pending
    assert _cli("contain", "undo", *env) == 0
    assert lab.net.ruleset("ws") == before
    assert not lab.rollbacks()
    assert lab.timers() == ""


def test_undo_cancels_only_the_timers_of_its_own_incident_and_target(lab: Lab) -> None:
    """Two responders (two incidents) contain the same host: one's undo must not disarm the
    other's commit-confirmed rollback, nor that of another target."""
    from rempart.contain import nft
    from rempart.contain._runner import LocalRunner

    runner = LocalRunner(lab.net.ns["ws"])
    saved = lab.net.ruleset("ws")
    mine = nft.scope(lab.incident, "ws")
    others = [nft.scope(lab.incident + "-b", "ws"), nft.scope(lab.incident, "fs")]
    timers = [nft.arm_rollback(runner, saved, 300, 5, where) for where in (mine, *others)]
    try:
        nft.cancel_rollbacks(runner, mine, 5)
        assert not lab.rollbacks("ws.*")
        assert len(lab.rollbacks("fs.*.pid")) == 1
        assert len(list(Path(nft.ROLLBACK_DIR).glob(f"{others[0]}.*.pid"))) == 1
        assert not nft.disarm_rollback(runner, timers[0], 5)  # already cancelled
        assert all(nft.disarm_rollback(runner, t, 5) for t in timers[1:])  # still pending
    finally:
        for where in others:
            nft.cancel_rollbacks(runner, where, 5)
    assert lab.timers() == ""


def test_isolate_keeps_an_ipv6_management_address_reachable(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """IPv6 needs neighbour discovery (ICMPv6, from the router's or link-local addresses):
    without it a management station behind a router cannot reach the isolated host."""
    net = lab.net
    inv = _inventory(lab, tmp_path, ws_management=f"{net.addr6('inet')};{net.addr6('fs')}")
    _import(lab, env, inv)
    assert net.can_connect("inet", net.addr6("ws"), 445)
    assert _cli("contain", "apply", "--isolate", "ws", "--yes", *env) == 0, capsys.readouterr()
    for name in ("ws", "fs", "gw", "inet"):  # as after a while: the neighbour caches expired
        net.exec(name, "ip", "-6", "neigh", "flush", "all")
    assert net.can_connect("fs", net.addr6("ws"), 445)  # management stations, over IPv6:
    assert net.can_connect("inet", net.addr6("ws"), 445)  # on the link and behind a router
    assert not net.can_connect("gw", net.addr6("ws"), 445)  # anyone else: blocked
    assert not net.can_connect("ws", net.addr6("gw"), 22)
    assert _cli("contain", "undo", "ws", *env) == 0


def test_a_kept_flow_does_not_open_the_lan_to_its_source_port(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Replies of a kept flow pass, but a new connection *from* the kept network, made with
    the kept port as its source port, must not reach the LAN."""
    net = lab.net
    # a second kept flow on a port the "internet" host does not listen on, so that it can
    # use it as its own source port
    args = [*_cut_at_gw(lab), "--keep", "phones=10.214.2.50/32:5061", "--yes"]
    assert net.can_connect_from_port("inet", lab.ws, 445, source_port=5061)  # before the cut
    assert _cli("contain", "apply", *args, *env) == 0, capsys.readouterr()
    assert net.can_connect("ws", "10.214.2.50", 443)  # the kept flow and its replies
    assert not net.can_connect_from_port("inet", lab.ws, 445, source_port=5061)
    assert _cli("contain", "undo", "gw", *env) == 0
    assert net.can_connect_from_port("inet", lab.ws, 445, source_port=5061)  # as before


def test_isolate_this_machine_is_confirmed_and_undone(
    lab: Lab,
    env: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A host with no ssh is the machine rempart runs on (here: ws's namespace, --netns).
    Its commands run under /bin/sh (dash on Debian): the rollback timer must be cancelled
    there too, or the host would undo its own containment a minute later."""
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    inv = _inventory(lab, tmp_path, extra=f"wsl,{lab.ws},workstation,,,{lab.net.responder}\n")
    _import(lab, env, inv)
    before = lab.net.ruleset("ws")
    local = ["--netns", lab.net.ns["ws"], "--confirm-within", "5"]
    assert _cli("contain", "apply", "--isolate", "wsl", "--yes", *env, *local) == 0
    assert "contained" in capsys.readouterr().out
    assert not lab.rollbacks() and lab.timers() == ""  # confirmed: no rollback pending
    time.sleep(5.5)  # past --confirm-within: still contained
    assert "rempart_contain" in lab.net.ruleset("ws")
    assert not lab.net.can_connect("fs", lab.ws, 445)
    assert _cli("contain", "undo", "wsl", *env, *local[:2]) == 0
    assert lab.net.ruleset("ws") == before


def test_undo_from_the_journal_restores_a_previous_containment_exactly(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fs already carried rempart's table (an earlier, wider containment) when it was
    isolated: undoing from the journal alone must put that earlier table back, byte for
    byte, not merely delete rempart's table."""
    earlier = "table inet rempart_contain {\n\tchain input {\n\t\ttype filter hook input "
    earlier += "priority -10; policy accept;\n\t\ttcp dport 8080 drop\n\t}\n}\n"
    lab.net.exec("fs", "nft", "-f", "-", stdin=earlier)
    before = lab.net.ruleset("fs")
    journal = ["--journal", str(tmp_path / "journal")]
    assert _cli("contain", "apply", "--isolate", "fs", "--yes", *env, *journal) == 0
    gone = _replaced(env, "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert _cli("contain", "undo", "--from-journal", *gone, *journal) == 0, capsys.readouterr()
    assert lab.net.ruleset("fs") == before


_VANISHING = """
import sys, time
from pathlib import Path
from rempart.contain import _records, engine, inventory
from rempart.contain._hostfw import Isolate
from rempart.contain.actions import ACTIONS, Context, Request
from rempart.store import open_store

class Vanishing(Isolate):
    name = "isolate"
    def verify(self, ctx, change):
        print("verifying", flush=True)
        time.sleep(600)  # killed here: the responder's laptop died, the VPN dropped...

db, incident, key, known, journal = sys.argv[1:6]
store = open_store(db)
iid = _records.incident_id(store, incident, create=False)
ctx = Context(iid, inventory.load(store, iid), "test", ssh_keys=[Path(key)],
              known_hosts=Path(known), timeout=5, confirm_seconds=3, incident_key=incident)
ACTIONS._items["isolate"] = Vanishing()
plan = engine.make_plan(ctx, Request(isolate=("fs",)))
engine.apply(store, ctx, plan, _records.Journal(Path(journal)))
"""


def test_the_host_rolls_back_by_itself_when_the_responder_vanishes(
    lab: Lab, env: list[str], tmp_path: Path
) -> None:
    """The responder's process dies (SIGKILL) after the rules are loaded and before any
    verification: nobody confirms, and the remote host restores its rules on its own."""
    before = lab.net.ruleset("fs")
    argv = [_db(env), lab.incident, str(lab.key), str(lab.sshd.known_hosts), str(tmp_path / "j")]
    proc = subprocess.Popen(
        [sys.executable, "-c", _VANISHING, *argv], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "verifying"
        assert "rempart_contain" in lab.net.ruleset("fs")  # applied, unconfirmed
    finally:
        proc.kill()
        proc.wait()
    _wait_until(lambda: lab.net.ruleset("fs") == before, 15, 0.3)
    assert lab.net.ruleset("fs") == before
    assert not lab.rollbacks("fs.*")  # the timer cleaned up after itself


def test_rules_refused_by_nft_leave_the_host_as_it_was_with_no_timer(
    lab: Lab, env: list[str], tmp_path: Path
) -> None:
    """nft refuses the table (atomically: nothing loaded): the rollback timer armed just
    before must be cancelled, or it would later "restore" over someone else's changes."""
    import dataclasses

    from rempart.contain import _records, engine
    from rempart.contain.actions import Request

    store, ctx = _context(lab, env)
    before = lab.net.ruleset("gw")
    try:
        plan = engine.make_plan(ctx, Request(isolate=("gw",)))
        bad = dataclasses.replace(plan.changes[0], detail="table inet rempart_contain { nope }\n")
        plan = dataclasses.replace(plan, changes=(bad,))
        [outcome] = engine.apply(store, ctx, plan, _records.Journal(tmp_path / "j"))
    finally:
        ctx.close()
    assert outcome.state == "failed" and "nft refused the rules" in outcome.message
    assert "left as it was" in outcome.message
    assert lab.net.ruleset("gw") == before
    assert not lab.rollbacks("gw.*") and lab.timers() == ""
    # nothing to undo later: the record is closed as refused
    assert [r.state for r in _records.records(store, ctx.incident)] == ["refused"]


def test_a_rollback_keeps_what_others_changed_meanwhile(lab: Lab, env: list[str]) -> None:
    """During the confirmation window the guard blocks an SMB client in its own table (or a
    colleague changes another table): the rollback takes back rempart's table only."""
    before = lab.net.ruleset("gw")
    outcome = _apply_unverified(lab, env, "gw", 3, "jr")
    assert outcome.state == "rolling_back"
    lab.net.exec("gw", "nft", "-f", "-", stdin=BEFORE_RULES.replace("other", "guard"))
    meanwhile = before + lab.net.exec("gw", "nft", "list", "table", "inet", "guard")
    _wait_until(lambda: "rempart_contain" not in lab.net.ruleset("gw"), 10, 0.2)
    assert lab.net.ruleset("gw") == meanwhile  # ours gone, the guard's table kept
    assert "table inet guard" in meanwhile


def test_undo_works_after_the_host_left_the_inventory(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The inventory is re-imported mid-incident without ws: ws is still contained, and its
    undo must still reach it (how to, is in the journal of the apply)."""
    before = lab.net.ruleset("ws")
    journal = ["--journal", str(tmp_path / "journal")]
    assert _cli("contain", "apply", "--isolate", "ws", "--yes", *env, *journal) == 0
    inv = tmp_path / "smaller.csv"
    inv.write_text(f"name,address,ssh\nfs,{lab.fs},root@{lab.fs}\n")
    _import(lab, env, inv)
    capsys.readouterr()
    assert _cli("contain", "undo", *env, *journal) == 0, capsys.readouterr()
    assert lab.net.ruleset("ws") == before


def test_isolation_is_verified_even_with_no_other_host_to_probe(
    lab: Lab, env: list[str], tmp_path: Path
) -> None:
    """A one-host inventory: no neighbour to probe, so verification must look at the rules
    in place (here a table that drops nothing: not contained, it rolls back)."""
    import dataclasses

    from rempart.contain import _records, engine
    from rempart.contain.actions import Request
    from rempart.contain.inventory import parse

    hosts = parse(f"name,address,ssh\ngw,{lab.gw},root@{lab.gw}\n")
    store, ctx = _context(lab, env, hosts, confirm_seconds=5)
    try:
        plan = engine.make_plan(ctx, Request(isolate=("gw",)))
        empty = dataclasses.replace(plan.changes[0], detail="table inet rempart_contain {\n}\n")
        [outcome] = engine.apply(
            store,
            ctx,
            dataclasses.replace(plan, changes=(empty,)),
            _records.Journal(tmp_path / "j"),
        )
    finally:
        ctx.close()
        # no timer left to fire in a later test
        from rempart.contain import nft
        from rempart.contain._runner import LocalRunner

        nft.cancel_rollbacks(LocalRunner(lab.net.ns["gw"]), nft.scope(lab.incident, "gw"), 5)
    assert outcome.state == "rolling_back", outcome
    assert "rules not in place" in outcome.message
