"""A real OpenLDAP slapd (mdb + ppolicy) on a loopback port, config in a temp dir."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

SUFFIX = "dc=example,dc=test"
ADMIN = f"cn=admin,{SUFFIX}"
ADMIN_PW = "adminpw"
ALICE = f"uid=alice,ou=people,{SUFFIX}"
ALICE_PW = "alicepw"

_BASE = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=policies,{SUFFIX}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,{SUFFIX}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 5

dn: {ALICE}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Martin
userPassword: {ALICE_PW}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slapd:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.base / "db").mkdir(parents=True)
        rootpw = subprocess.run(
            ["slappasswd", "-s", ADMIN_PW], capture_output=True, text=True, check=True
        ).stdout.strip()
        conf = self.base / "slapd.conf"
        conf.write_text(
            "\n".join(
                [
                    *(
                        f"include /etc/ldap/schema/{s}.schema"
                        for s in ("core", "cosine", "inetorgperson", "nis")
                    ),
                    "modulepath /usr/lib/ldap",
                    "moduleload back_mdb",
                    "moduleload ppolicy",
                    f"pidfile {self.base}/slapd.pid",
                    "database mdb",
                    "maxsize 10485760",
                    f'suffix "{SUFFIX}"',
                    f'rootdn "{ADMIN}"',
                    f"rootpw {rootpw}",
                    f"directory {self.base}/db",
                    "overlay ppolicy",
                    f'ppolicy_default "cn=default,ou=policies,{SUFFIX}"',
                    "ppolicy_use_lockout",
                    "",
                ]
            )
        )
        self.proc = subprocess.Popen(
            ["slapd", "-h", f"{self.url}/", "-f", str(conf), "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + 10
        while True:
            done = subprocess.run(
                ["ldapadd", "-x", "-H", self.url, "-D", ADMIN, "-w", ADMIN_PW],
                input=_BASE,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                return
            if time.monotonic() > end:
                raise RuntimeError(f"slapd did not start: {done.stderr}")
            time.sleep(0.1)

    def can_bind(self, dn: str = ALICE, password: str = ALICE_PW) -> bool:
        import ldap3

        conn = ldap3.Connection(ldap3.Server(self.url), dn, password)
        ok = bool(conn.bind())
        conn.unbind()
        return ok

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
