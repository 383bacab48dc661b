"""The nftables rules containment writes: content, and nft itself accepts them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rempart.contain.nft import Flow, cut_internet_rules, digest, isolate_rules, load_script


def test_isolate_keeps_loopback_and_the_allowlist_only() -> None:
    text = isolate_rules(["10.1.0.5", "10.9.0.0/24", "fd00::5"])
    assert "policy drop;" in text
    assert 'iifname "lo" accept' in text and 'oifname "lo" accept' in text
    assert "ip saddr { 10.1.0.5/32, 10.9.0.0/24 } accept" in text
    assert "ip6 daddr { fd00::5/128 } accept" in text
    assert "ct state" not in text  # established malware connections are not kept
    # IPv6 neighbour discovery, on-link only, or no IPv6 address could be reached at all
    assert "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert }" in text
    assert text.count("ip6 hoplimit 255 accept") == 2


def test_cut_internet_keeps_internal_traffic_and_named_flows() -> None:
    flows = [Flow.parse("backup=192.0.2.0/24:443"), Flow.parse("phones=198.51.100.7:5061")]
    text = cut_internet_rules(["10.0.0.0/8"], flows, ["10.1.0.5"])
    assert "hook forward" in text and "policy drop;" in text
    assert "ip saddr { 10.0.0.0/8 } ip daddr { 10.0.0.0/8 } accept" in text
    assert 'ip daddr 192.0.2.0/24 tcp dport 443 accept comment "backup"' in text
    # replies only: the kept port as a source port opens no way in
    assert (
        "ct direction reply ct state established ip saddr 198.51.100.7/32 udp sport 5061 accept"
        in text
    )
    assert "\t\tip saddr 198.51.100.7/32 udp sport" not in text
    assert "meta l4proto { icmp, ipv6-icmp } ct state related accept" in text


@pytest.mark.parametrize(
    "bad",
    [
        "backup",
        "b=10.0.0.0/8",
        "b=10.0.0.0/33:1",
        "=1.2.3.4:5",
        "b=1.2.3.4:0",
        "b=1.2.3.4:http",
        "x" * 70 + "=1.2.3.4:5",  # nft comments hold 128 bytes: refused at plan, not at load
        "a\nb=1.2.3.4:5",
    ],
)
def test_damaged_keep_flows_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="NAME=CIDR:PORT"):
        Flow.parse(bad)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="needs root and nft")
def test_nft_accepts_the_generated_scripts() -> None:
    for rules in (
        isolate_rules(["10.1.0.5", "fd00::5"]),
        cut_internet_rules(["10.0.0.0/8", "fd00::/8"], [Flow.parse("b=192.0.2.1:22")], []),
    ):
        # -c: check only, nothing is loaded
        done = subprocess.run(
            ["nft", "-c", "-f", "-"],
            input=load_script(rules),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


def test_digest_is_stable() -> None:
    assert digest("") == digest("")
    assert digest("a") != digest("b")


def test_rollback_and_undo_touch_rempart_s_table_only() -> None:
    from rempart.contain.nft import own_table, restore_script

    ours = "table inet rempart_contain {\n\tchain input {\n\t}\n}\n"
    theirs = "table inet guard {\n\tset blocked {\n\t}\n}\n"
    assert own_table(theirs + ours + theirs.replace("guard", "x")) == ours
    assert own_table(theirs) == ""
    assert own_table("table inet rempart_contain {\n\tchain input {\n") == ""  # cut short
    assert "flush ruleset" not in restore_script(theirs + ours)
    assert restore_script(theirs + ours).endswith("delete table inet rempart_contain\n" + ours)
    assert restore_script(theirs).endswith("delete table inet rempart_contain\n")


def test_internal_networks_default_to_private_ipv4_and_ipv6_ula() -> None:
    """Traffic between internal VLANs through the gateway stays up, IPv6 (ULA) included."""
    from rempart.contain import Request

    text = cut_internet_rules(Request().internal, [], [])
    assert "ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 }" in text
    assert "ip6 saddr { fc00::/7 } ip6 daddr { fc00::/7 } accept" in text
