"""Inventory files: CSV and TOML, validated with messages that name the line."""

from __future__ import annotations

import pytest

from rempart.contain import InventoryError
from rempart.contain._records import incident_id
from rempart.contain.inventory import SshTarget, load, parse, save, select_hosts
from rempart.store import open_store

CSV = """name,address,role,groups,ssh,management
ws1,10.1.0.10,workstation,mairie;postes,root@10.1.0.10,10.1.0.5;10.9.0.0/24
fs1,10.1.0.20,fileserver,mairie,admin@fs1.mairie.local:2222,
gw,10.1.0.1,gateway,,,
"""

TOML = """
[[host]]
name = "ws1"
address = "10.1.0.10"
groups = ["mairie"]
ssh = "root@10.1.0.10"
management = ["10.1.0.5"]

[[host]]
name = "gw"
address = "fd00::1"
"""


def test_csv_inventory_is_read_with_lists_and_ssh_targets() -> None:
    hosts = parse(CSV, source="inv.csv")
    assert [h.name for h in hosts] == ["ws1", "fs1", "gw"]
    assert hosts[0].groups == ("mairie", "postes")
    assert hosts[0].management == ("10.1.0.5/32", "10.9.0.0/24")
    assert hosts[1].ssh == SshTarget("admin", "fs1.mairie.local", 2222)
    assert hosts[2].ssh is None  # the machine rempart runs on


def test_toml_inventory_is_read() -> None:
    hosts = parse(TOML, source="inv.toml")
    assert hosts[0].ssh == SshTarget("root", "10.1.0.10", 22)
    assert hosts[1].address == "fd00::1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CSV.replace("10.1.0.20", "10.1.0.999"), "inv.csv:3: bad address '10.1.0.999'"),
        (CSV.replace("role,", "role,colour,", 1), "inv.csv:1: unknown column(s) colour"),
        ("name,role\nws1,x\n", "inv.csv:1: missing column(s) address"),
        (CSV + "ws1,10.1.0.11,,,,\n", "inv.csv:5: host 'ws1' already defined on line 2"),
        (CSV.replace("root@10.1.0.10", "root@"), "inv.csv:2: ssh must be user@host[:port]"),
        (CSV.replace("10.9.0.0/24", "10.9.0.0/99"), "inv.csv:2: not an IP address or network"),
        (CSV + 'x,"10.1.0.3\n', "inv.csv:5: damaged CSV"),
        (CSV + "x,10.1.0.3,,,,,extra\n", "inv.csv:5: more cells than columns"),
        ("name,address,role,groups,ssh,management\n", "inv.csv: no hosts"),
    ],
)
def test_damaged_csv_names_the_line(text: str, message: str) -> None:
    with pytest.raises(InventoryError) as err:
        parse(text, source="inv.csv")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[host]\nname=1", "damaged TOML"),
        ('[[host]]\nname = "a"\naddress = "1.2.3.4"\ncolour = "red"\n', "unknown column(s)"),
        ('[[host]]\nname = "a"\n\n[[host]]\nname = "b"\naddress = "x"\n', "inv.toml:1: missing"),
        (
            '[[host]]\nname = "a"\naddress = "1.2.3.4"\n[[host]]\nname = "b"\naddress = "x"\n',
            "inv.toml:4: bad address 'x'",
        ),
        ("hosts = 1\n", "unknown key(s) hosts"),
    ],
)
def test_damaged_toml_is_refused(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text, source="inv.toml")


def test_groups_select_hosts_and_unknown_names_are_refused() -> None:
    hosts = parse(CSV, source="inv.csv")
    assert [h.name for h in select_hosts(hosts, ["mairie"])] == ["ws1", "fs1"]
    assert [h.name for h in select_hosts(hosts, ["gw", "postes"])] == ["ws1", "gw"]
    with pytest.raises(InventoryError, match="unknown host or group: nope"):
        select_hosts(hosts, ["gw", "nope"])


def test_inventory_round_trips_through_the_store(store_url: str) -> None:
    engine = open_store(store_url)
    iid = incident_id(engine, "inc-1", create=True)
    hosts = parse(CSV, source="inv.csv")
    save(engine, iid, hosts)
    save(engine, iid, hosts)  # import again: replaced, not duplicated
    assert load(engine, iid) == hosts
