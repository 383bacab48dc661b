"""nftables on a host: the rules containment writes, snapshots, and commit-confirmed apply.

All of rempart's rules live in one table, `inet rempart_contain`, so that undoing never
touches anyone else's rules. An apply first saves `nft list ruleset` on the host and starts
a detached timer there that restores it after N seconds unless the responder, having
verified the result, cancels it: a mistake cannot lock the team out at night.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from rempart.contain._errors import HostError
from rempart.contain._runner import Runner

TABLE = "rempart_contain"
ROLLBACK_DIR = "/var/tmp/rempart-contain"
#: Priority below the usual filter chains (0): our drops and accepts are seen first.
PRIORITY = -10


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _split(addrs: Sequence[str]) -> tuple[list[str], list[str]]:
    v4: list[str] = []
    v6: list[str] = []
    for a in addrs:
        net = ipaddress.ip_network(a, strict=False)
        (v4 if net.version == 4 else v6).append(str(net))
    return sorted(set(v4)), sorted(set(v6))


def _set(items: list[str]) -> str:
    return "{ " + ", ".join(items) + " }"


#: IPv6 neighbour discovery (on-link only: hop limit 255), without which no IPv6 address,
#: allowlisted or not, can be reached: the router and the neighbours ask from addresses of
#: their own (often link-local) that are in no allowlist. Not a way in: it carries no data.
_ND_IN = (
    "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert }"
    " ip6 hoplimit 255 accept"
)
_ND_OUT = (
    "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit }"
    " ip6 hoplimit 255 accept"
)


def isolate_rules(allow: Sequence[str]) -> str:
    """A table that drops all traffic of the host except loopback and the allowlist.

    No `ct state established` rule: connections the malware already holds must be cut too;
    the allowlist is matched both ways by address instead.
    """
    v4, v6 = _split(allow)
    lines = [f"table inet {TABLE} {{"]
    for chain, hook in (("input", "input"), ("output", "output"), ("forward", "forward")):
        lines.append(f"\tchain {chain} {{")
        lines.append(f"\t\ttype filter hook {hook} priority {PRIORITY}; policy drop;")
        if chain == "input":
            lines += ['\t\tiifname "lo" accept', f"\t\t{_ND_IN}"]
        elif chain == "output":
            lines += ['\t\toifname "lo" accept', f"\t\t{_ND_OUT}"]
        field = "saddr" if chain == "input" else "daddr"
        if v4 and chain != "forward":
            lines.append(f"\t\tip {field} {_set(v4)} accept")
        if v6 and chain != "forward":
            lines.append(f"\t\tip6 {field} {_set(v6)} accept")
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Flow:
    """A named flow kept open through the gateway: NAME=CIDR:PORT (TCP and UDP)."""

    name: str
    network: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Flow:
        try:
            name, rest = text.split("=", 1)
            net, port = rest.rsplit(":", 1)
            flow = cls(name.strip(), str(ipaddress.ip_network(net, strict=False)), int(port))
        except ValueError:
            raise ValueError(f"--keep must be NAME=CIDR:PORT, got {text!r}") from None
        # the name becomes an nft comment: printable, and short (nft allows 128 bytes)
        if not (0 < len(flow.name.encode()) <= 64 and flow.name.isprintable()):
            raise ValueError(f"--keep must be NAME=CIDR:PORT (NAME: 64 bytes), got {text!r}")
        if not 0 < flow.port < 65536:
            raise ValueError(f"--keep must be NAME=CIDR:PORT, got {text!r}")
        return flow


def cut_internet_rules(internal: Sequence[str], keep: Sequence[Flow], allow: Sequence[str]) -> str:
    """A forward chain that drops traffic leaving the internal networks, except kept flows.

    A kept flow is the connections to NAME=CIDR:PORT (TCP and UDP) and their replies.
    """
    i4, i6 = _split(internal)
    a4, a6 = _split(allow)
    lines = [
        f"table inet {TABLE} {{",
        "\tchain forward {",
        f"\t\ttype filter hook forward priority {PRIORITY}; policy drop;",
    ]
    if i4:
        lines.append(f"\t\tip saddr {_set(i4)} ip daddr {_set(i4)} accept")
    if i6:
        lines.append(f"\t\tip6 saddr {_set(i6)} ip6 daddr {_set(i6)} accept")
    for fam, nets in (("ip", a4), ("ip6", a6)):
        if nets:
            lines.append(f"\t\t{fam} saddr {_set(nets)} accept")
            lines.append(f"\t\t{fam} daddr {_set(nets)} accept")
    # ICMP errors about tracked connections (path MTU above all: a kept flow through a
    # tunnel stalls without it); they carry no data and open nothing
    lines.append("\t\tmeta l4proto { icmp, ipv6-icmp } ct state related accept")
    for f in keep:
        fam = "ip" if ipaddress.ip_network(f.network).version == 4 else "ip6"
        comment = f.name.replace('"', "'")
        for proto in ("tcp", "udp"):
            lines.append(
                f'\t\t{fam} daddr {f.network} {proto} dport {f.port} accept comment "{comment}"'
            )
            # the replies only: a packet *from* the kept network with the kept port as its
            # source port must not open a way into the LAN
            lines.append(
                f"\t\tct direction reply ct state established {fam} saddr {f.network} "
                f'{proto} sport {f.port} accept comment "{comment}"'
            )
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"


def ruleset(runner: Runner, timeout: float) -> str:
    """The host's whole ruleset, as `nft list ruleset` prints it."""
    got = runner.run("nft list ruleset", timeout=timeout)
    if got.status != 0:
        raise HostError(f"{runner.label}: nft list ruleset failed: {got.stderr.strip()}")
    return got.stdout


def load_script(rules: str) -> str:
    """An nft -f script replacing our table atomically (idempotent: same rules, same state)."""
    return f"table inet {TABLE}\ndelete table inet {TABLE}\n{rules}"


def own_table(ruleset_text: str) -> str:
    """rempart's table as `ruleset_text` (an `nft list ruleset`) shows it; "" when absent."""
    lines = ruleset_text.splitlines(keepends=True)
    head = f"table inet {TABLE} {{"
    for start, line in enumerate(lines):
        if line.rstrip("\n") == head:
            for end in range(start + 1, len(lines)):
                if lines[end].rstrip("\n") == "}":  # tables close at column 0
                    return "".join(lines[start : end + 1])
    return ""


def restore_script(saved: str) -> str:
    """An nft -f script putting rempart's table back as it was in `saved`, or removing it.

    Only our table: a rollback or an undo must not take back what others did meanwhile
    (the guard blocking an SMB client in its own table, a colleague's rules, fail2ban), nor
    reload rules nft cannot parse back (iptables-nft's xt matches).
    """
    return load_script(own_table(saved))


def load(runner: Runner, script: str, timeout: float) -> None:
    got = runner.run("nft -f -", stdin=script, timeout=timeout)
    if got.status != 0:
        raise HostError(f"{runner.label}: nft refused the rules: {got.stderr.strip()}")


def scope(incident: str, target: str) -> str:
    """The prefix of one incident's rollback files for one target, safe in a shell word.

    Undo cancels only the timers of its own incident and target: another responder's
    apply on the same host (another incident) keeps its own protection.
    """
    safe = [re.sub(r"[^A-Za-z0-9_-]", "_", part) or "_" for part in (incident, target)]
    return ".".join(safe)


def arm_rollback(runner: Runner, saved: str, seconds: int, timeout: float, where: str) -> str:
    """Save `saved` on the host and start a detached timer that restores it; returns its id.

    `where` is the `scope()` of the change: it names the files, so that an undo (even from
    the journal, after an interrupted apply) finds and cancels exactly these timers.
    """
    token = f"{where}.{secrets.token_hex(6)}"
    path = f"{ROLLBACK_DIR}/{token}.nft"
    got = runner.run(
        f"umask 077; mkdir -p {ROLLBACK_DIR} && cat > {path}",
        stdin=restore_script(saved),
        timeout=timeout,
    )
    if got.status != 0:
        raise HostError(f"{runner.label}: cannot save the rollback ruleset: {got.stderr.strip()}")
    # setsid: the timer outlives our SSH session; its own process group lets us cancel it whole
    # (with `kill -TERM -PGID`: dash's kill, /bin/sh on Debian, refuses `kill -TERM -- -PGID`)
    pidfile = f"{ROLLBACK_DIR}/{token}.pid"
    # the pid file lets a later undo cancel timers left by an interrupted apply; it goes as
    # soon as the timer fires (a stale pid could be reused by another process group), the
    # saved ruleset only once restored (kept for the responder if nft refused it)
    timer = shlex.quote(
        f"echo $$ > {pidfile}; sleep {int(seconds)}; rm -f {pidfile}; nft -f {path} && rm -f {path}"
    )
    got = runner.run(f"setsid sh -c {timer} >/dev/null 2>&1 </dev/null & echo $!", timeout=timeout)
    if got.status != 0 or not got.stdout.strip().isdigit():
        raise HostError(f"{runner.label}: cannot start the rollback timer: {got.stderr.strip()}")
    return f"{got.stdout.strip()}:{token}"


def disarm_rollback(runner: Runner, timer: str, timeout: float) -> bool:
    """Cancel a rollback timer (after a successful verification); True when it was pending."""
    pid, token = timer.split(":", 1)
    got = runner.run(
        f"[ -e {ROLLBACK_DIR}/{shlex.quote(token)}.pid ] && kill -TERM -{int(pid)} 2>/dev/null"
        f" && rm -f {ROLLBACK_DIR}/{shlex.quote(token)}.*",
        timeout=timeout,
    )
    return got.status == 0


def cancel_rollbacks(runner: Runner, where: str, timeout: float) -> None:
    """Cancel the pending rollback timers of one incident's target (`scope()`) on the host."""
    runner.run(
        f'for f in {ROLLBACK_DIR}/{shlex.quote(where)}.*.pid; do [ -e "$f" ] || continue; '
        'kill -TERM "-$(cat "$f")" 2>/dev/null; rm -f "$f" "${f%.pid}.nft"; done',
        timeout=timeout,
    )


@dataclass(frozen=True)
class Probe:
    """One TCP connection attempt and what was expected of it."""

    origin: str
    address: str
    port: int
    expect_open: bool
    outcome: str  # open, refused (reachable, nothing listening), blocked

    @property
    def ok(self) -> bool:
        return (self.outcome != "blocked") == self.expect_open


def _outcome(text: str) -> str:
    if "rc=0" in text:
        return "open"
    if "refused" in text.lower():
        return "refused"
    # timed out (dropped on the way) or "Operation not permitted" (dropped on output)
    return "blocked"


def probe(runner: Runner, address: str, port: int, *, expect_open: bool, wait: float = 2) -> Probe:
    """Try a TCP connection from the host (bash /dev/tcp, present on every Linux server)."""
    return probe_many(runner, [(address, port)], expect_open=expect_open, wait=wait)[0]


def probe_many(
    runner: Runner, targets: Sequence[tuple[str, int]], *, expect_open: bool, wait: float = 2
) -> list[Probe]:
    """Several TCP probes from the host at once (one command, in parallel, one `wait` long)."""
    if not targets:
        return []
    parts = []
    for n, (address, port) in enumerate(targets):
        ipaddress.ip_address(address)  # never interpolate anything but an address
        attempt = shlex.quote(f"exec 3<>/dev/tcp/{address}/{int(port)}")
        parts.append(f'(out=$(timeout {wait:g} bash -c {attempt} 2>&1); echo "{n} rc=$? $out") &')
    got = runner.run(" ".join(parts) + " wait", timeout=wait + 10)
    lines = {ln.split(" ", 1)[0]: ln for ln in got.stdout.splitlines() if ln.strip()}
    return [
        Probe(runner.label, a, p, expect_open, _outcome(lines.get(str(n), "")))
        for n, (a, p) in enumerate(targets)
    ]
