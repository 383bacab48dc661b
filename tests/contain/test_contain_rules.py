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


def test_cut_internet_keeps_internal_traffic_and_named_flows() -> None:
    flows = [Flow.parse("backup=192.0.2.0/24:443"), Flow.parse("phones=198.51.100.7:5061")]
    text = cut_internet_rules(["10.0.0.0/8"], flows, ["10.1.0.5"])
    assert "hook forward" in text and "policy drop;" in text
    assert "ip saddr { 10.0.0.0/8 } ip daddr { 10.0.0.0/8 } accept" in text
    assert 'ip daddr 192.0.2.0/24 tcp dport 443 accept comment "backup"' in text
    assert 'ip saddr 198.51.100.7/32 udp sport 5061 accept comment "phones"' in text


@pytest.mark.parametrize(
    "bad",
    ["backup", "b=10.0.0.0/8", "b=10.0.0.0/33:1", "=1.2.3.4:5", "b=1.2.3.4:0", "b=1.2.3.4:http"],
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
