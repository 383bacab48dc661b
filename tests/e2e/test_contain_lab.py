"""rempart contain against real hosts: namespaces, nftables, OpenSSH and OpenLDAP.

Hosts ws, fs and gw are managed over SSH (a real sshd in each namespace, key auth); the
test process is the responder (10.214.1.5 on the LAN). Every test leaves the hosts'
rulesets as it found them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("rk-lab")
    key = keygen(base / "client")
    wrong = keygen(base / "wrong")
    net = NetLab()
    sshd = Sshd(base / "ssh", [key.with_suffix(".pub")])
    try:
        net.start()
        for name in ("ws", "fs", "gw"):
            sshd.start(net.ns[name], HOSTS[name][0])
        yield Lab(net, sshd, key, wrong, base)
    finally:
        sshd.stop()
        net.stop()


def _inventory(lab: Lab, tmp_path: Path, extra: str = "", fs_management: str = "") -> Path:
    inv = tmp_path / "inventory.csv"
    inv.write_text(
        "name,address,role,groups,ssh,management\n"
        "ws,10.214.1.10,workstation,mairie;postes,root@10.214.1.10,\n"
        f"fs,10.214.1.20,fileserver,mairie,root@10.214.1.20,{fs_management}\n"
        "gw,10.214.1.1,gateway,,root@10.214.1.1,\n" + extra
    )
    return inv


def _cli(*argv: str) -> int:
    from rempart.cli import main

    return main(list(argv))


@pytest.fixture
def env(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Common options; imports the inventory into incident 'rk'; restores rulesets after."""
    monkeypatch.chdir(tmp_path)  # the default journal file lands here
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert (
        _cli(
            "contain",
            "inventory",
            "import",
            str(_inventory(lab, tmp_path)),
            "--incident",
            "rk",
            "--db",
            db,
        )
        == 0
    )
    before = {n: lab.net.ruleset(n) for n in ("ws", "fs", "gw")}
    yield [
        "--incident",
        "rk",
        "--db",
        db,
        "--ssh-key",
        str(lab.key),
        "--known-hosts",
        str(lab.sshd.known_hosts),
        "--timeout",
        "5",
    ]
    for n, text in before.items():
        lab.net.exec(n, "nft", "-f", "-", stdin="flush ruleset\n" + text)


def test_isolate_blocks_all_but_the_allowlist_then_undo_restores_byte_for_byte(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = lab.net
    net.exec("ws", "nft", "-f", "-", stdin=BEFORE_RULES)
    before = net.ruleset("ws")
    assert net.can_connect("fs", "10.214.1.10", 445)
    journal = ["--journal", str(tmp_path / "journal")]

    assert _cli("contain", "plan", "--isolate", "ws", *env) == 0
    shown = capsys.readouterr().out
    assert "table inet rempart_contain" in shown and "10.214.1.5" in shown
    assert _cli("contain", "apply", "--isolate", "ws", "--yes", *env, *journal) == 0
    out = capsys.readouterr().out
    assert "contained" in out, out
    # verified, so the rollback timer was cancelled: no saved ruleset waits to be restored
    assert not list(Path("/var/tmp/rempart-contain").glob("*.nft"))
    timers = subprocess.run(
        ["pgrep", "-f", "nft -f /var/tmp/rempart-contain"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert timers == ""
    assert not net.can_connect("fs", "10.214.1.10", 445)  # neighbours are cut off
    assert not net.can_connect("ws", "10.214.1.20", 445)  # and so is the host's egress
    assert not net.can_connect("ws", "10.214.2.50", 80)
    assert net.can_connect("fs", "10.214.1.20", 445)  # others untouched
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
    assert net.can_connect("fs", "10.214.1.10", 445)
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
    args = [
        "--cut-internet",
        "gw",
        "--keep",
        "backup=10.214.2.50/32:443",
        "--internal",
        "10.214.1.0/24",
        "--probe-from",
        "ws",
        "--probe-blocked",
        "10.214.2.50:80",
        "--yes",
    ]
    assert _cli("contain", "apply", *args, *env) == 0, capsys.readouterr()
    assert net.can_connect("ws", "10.214.2.50", 443)  # the kept flow
    assert not net.can_connect("ws", "10.214.2.50", 80)  # the rest of the internet
    assert not net.can_connect("inet", "10.214.1.20", 445)  # and inbound from it
    assert net.can_connect("ws", "10.214.1.20", 445)  # the LAN keeps working
    assert _cli("contain", "undo", "gw", *env) == 0
    assert net.ruleset("gw") == before
    assert net.can_connect("ws", "10.214.2.50", 80)


def test_a_bad_apply_rolls_back_by_itself(lab: Lab, env: list[str]) -> None:
    """Verification fails (the responder's path looks cut): the host restores its rules."""
    from rempart.contain import _records, engine, inventory
    from rempart.contain._hostfw import Isolate
    from rempart.contain.actions import ACTIONS, Context, Request
    from rempart.store import open_store

    class BrokenIsolate(Isolate):
        name = "isolate"

        def reconnect(self, ctx, change):  # as if the new rules had cut us off
            return ["a new SSH connection fails"]

    store = open_store(env[env.index("--db") + 1])
    iid = _records.incident_id(store, "rk", create=False)
    ctx = Context(
        iid,
        inventory.load(store, iid),
        "test",
        ssh_keys=[lab.key],
        known_hosts=lab.sshd.known_hosts,
        timeout=5,
        confirm_seconds=2,
    )
    before = lab.net.ruleset("fs")
    real = ACTIONS._items["isolate"]
    ACTIONS._items["isolate"] = BrokenIsolate()  # swapped for this test only
    try:
        plan = engine.make_plan(ctx, Request(isolate=("fs",)))
        [outcome] = engine.apply(store, ctx, plan, _records.Journal(lab.base / "j"))
    finally:
        ACTIONS._items["isolate"] = real
        ctx.close()
    assert outcome.state == "rolling_back", outcome
    assert "restores itself within 2 s" in outcome.message
    deadline = time.monotonic() + 10
    while "rempart_contain" in lab.net.ruleset("fs") and time.monotonic() < deadline:
        time.sleep(0.2)
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

    wrong = [*env]
    wrong[wrong.index("--ssh-key") + 1] = str(lab.wrong_key)
    assert _cli("contain", "plan", "--isolate", "ws", *wrong) == 2
    assert "SSH key was refused" in capsys.readouterr().err

    inv = _inventory(lab, tmp_path, extra="ghost,10.214.1.99,,,root@10.214.1.99,\n")
    db = env[env.index("--db") + 1]
    assert _cli("contain", "inventory", "import", str(inv), "--incident", "rk", "--db", db) == 0
    capsys.readouterr()
    assert _cli("contain", "plan", "--isolate", "ghost", *env) == 2
    assert "unreachable" in capsys.readouterr().err


def test_a_plan_that_would_cut_the_responder_off_is_refused(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fs is managed from ws (a jump host): isolating ws as well would cut our path to fs
    inv = _inventory(lab, tmp_path, fs_management="10.214.1.10")
    db = env[env.index("--db") + 1]
    assert _cli("contain", "inventory", "import", str(inv), "--incident", "rk", "--db", db) == 0
    capsys.readouterr()
    assert _cli("contain", "apply", "--isolate", "mairie", "--yes", *env) == 2
    assert "would cut the responder's path to fs" in capsys.readouterr().err
    assert "rempart_contain" not in lab.net.ruleset("ws")


def test_disable_account_then_undo(
    env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slapd = Slapd(tmp_path / "ldap")
    try:
        slapd.start()
        assert slapd.can_bind()
        ldap = ["--ldap-url", slapd.url, "--ldap-bind-dn", ADMIN, "--ldap-password", ADMIN_PW]
        assert _cli("contain", "apply", "--disable-account", ALICE, "--yes", *ldap, *env) == 0
        assert not slapd.can_bind()
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
    inv = _inventory(lab, tmp_path, extra="fsl,10.214.1.20,fileserver,,,\n")
    db = env[env.index("--db") + 1]
    assert _cli("contain", "inventory", "import", str(inv), "--incident", "rk", "--db", db) == 0
    assert lab.net.can_connect("ws", "10.214.1.20", 445)
    args = ["--block-smb-client", "10.214.1.10", "--at", "fsl", *env]
    assert _cli("contain", "apply", *args, "--yes") == 0, capsys.readouterr()
    assert blocked_clients(netns=lab.net.ns["fs"]) == ["10.214.1.10"]
    assert not lab.net.can_connect("ws", "10.214.1.20", 445)
    assert not lab.net.can_connect("ws", "10.214.1.20", 139)
    assert _cli("contain", "apply", *args, "--yes") == 0  # idempotent
    assert "unchanged" in capsys.readouterr().out
    assert _cli("contain", "undo", *env) == 0
    assert blocked_clients(netns=lab.net.ns["fs"]) == []
    assert lab.net.can_connect("ws", "10.214.1.20", 445)


def test_block_smb_client_at_a_remote_file_server_runs_the_guard_responder_over_ssh(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from rempart.guard.respond.nft import blocked_clients

    # fs shares this machine's file system: its Python is ours, with rempart installed
    remote = ["--remote-python", sys.executable]
    args = ["--block-smb-client", "10.214.1.10", "--at", "fs", *env, *remote]
    assert _cli("contain", "apply", *args, "--yes") == 0, capsys.readouterr()
    assert blocked_clients(netns=lab.net.ns["fs"]) == ["10.214.1.10"]
    assert not lab.net.can_connect("ws", "10.214.1.20", 445)
    assert lab.net.can_connect("fs", "10.214.1.20", 445)  # only that client is cut
    assert _cli("contain", "undo", "fs", *env, *remote) == 0
    assert blocked_clients(netns=lab.net.ns["fs"]) == []
    assert lab.net.can_connect("ws", "10.214.1.20", 445)

    # without rempart on the file server: a clear message, nothing recorded as applied
    assert (
        _cli(
            "contain",
            "plan",
            "--block-smb-client",
            "10.214.1.10",
            "--at",
            "fs",
            *env,
            "--remote-python",
            "/nonexistent/python3",
        )
        == 2
    )
    assert "rempart must be installed on the file server" in capsys.readouterr().err


def test_undo_from_the_journal_alone_when_the_store_is_gone(
    lab: Lab, env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = lab.net.ruleset("fs")
    journal = ["--journal", str(tmp_path / "journal")]
    assert _cli("contain", "apply", "--isolate", "fs", "--yes", *env, *journal) == 0
    assert not lab.net.can_connect("ws", "10.214.1.20", 445)
    (tmp_path / "store.db").unlink()  # the store is out of reach
    gone = [*env]
    gone[gone.index("--db") + 1] = "postgresql://nobody@127.0.0.1:1/none"
    assert _cli("contain", "undo", "--from-journal", *gone, *journal) == 0, capsys.readouterr()
    assert lab.net.ruleset("fs") == before
    assert lab.net.can_connect("ws", "10.214.1.20", 445)
    assert _cli("contain", "undo", "--from-journal", *gone, *journal) == 2  # nothing left


def test_a_cut_that_fails_its_probes_rolls_back_by_itself(
    lab: Lab, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong expectation (a kept flow listed as to be blocked) fails verification: the
    gateway restores its previous ruleset on its own, with nobody confirming."""
    before = lab.net.ruleset("gw")
    args = [
        "--cut-internet",
        "gw",
        "--keep",
        "backup=10.214.2.50/32:443",
        "--internal",
        "10.214.1.0/24",
        "--probe-from",
        "ws",
        "--probe-blocked",
        "10.214.2.50:443",
        "--confirm-within",
        "5",
        "--yes",
    ]
    assert _cli("contain", "apply", *args, *env) == 1  # done, needs attention
    out = capsys.readouterr().out
    assert "rolling_back" in out and "restores itself within 5 s" in out
    deadline = time.monotonic() + 15
    while lab.net.ruleset("gw") != before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert lab.net.ruleset("gw") == before
    assert lab.net.can_connect("ws", "10.214.2.50", 80)


def test_partial_failure_is_reported_host_by_host(lab: Lab, env: list[str]) -> None:
    """fs changes between the plan and its turn: ws is contained, fs is left as it was."""
    from rempart.contain import _records, engine, inventory
    from rempart.contain.actions import Context, Request
    from rempart.store import open_store

    store = open_store(env[env.index("--db") + 1])
    iid = _records.incident_id(store, "rk", create=False)
    ctx = Context(
        iid,
        inventory.load(store, iid),
        "test",
        ssh_keys=[lab.key],
        known_hosts=lab.sshd.known_hosts,
        timeout=5,
        confirm_seconds=30,
    )
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
    from rempart.contain import _records, engine, inventory
    from rempart.contain._hostfw import Isolate
    from rempart.contain.actions import ACTIONS, Context, Request
    from rempart.store import open_store

    class Interrupted(Isolate):
        name = "isolate"

        def verify(self, ctx, change):
            raise KeyboardInterrupt

    store = open_store(env[env.index("--db") + 1])
    iid = _records.incident_id(store, "rk", create=False)
    ctx = Context(
        iid,
        inventory.load(store, iid),
        "test",
        ssh_keys=[lab.key],
        known_hosts=lab.sshd.known_hosts,
        timeout=5,
        confirm_seconds=300,
    )
    before = lab.net.ruleset("ws")
    real = ACTIONS._items["isolate"]
    ACTIONS._items["isolate"] = Interrupted()
    try:
        plan = engine.make_plan(ctx, Request(isolate=("ws",)))
        with pytest.raises(KeyboardInterrupt):
            engine.apply(store, ctx, plan, _records.Journal(tmp_path / "j"))
    finally:
        ACTIONS._items["isolate"] = real
        ctx.close()
    assert "rempart_contain" in lab.net.ruleset("ws")
    assert list(Path("/var/tmp/rempart-contain").glob("*.pid"))  # the timer is pending
    assert _cli("contain", "undo", *env) == 0
    assert lab.net.ruleset("ws") == before
    assert not list(Path("/var/tmp/rempart-contain").glob("*"))
    timers = subprocess.run(
        ["pgrep", "-f", "nft -f /var/tmp/rempart-contain"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert timers == ""
