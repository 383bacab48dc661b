"""Directory accounts: what "disabled" means for OpenLDAP (ppolicy) and Active Directory."""

from __future__ import annotations


def test_active_directory_accounts_get_the_accountdisable_bit() -> None:
    from rempart.contain.account import _disabled

    assert _disabled("ad", {"userAccountControl": ["512"]}) == {"userAccountControl": ["514"]}
    assert _disabled("ad", {"userAccountControl": ["514"]}) == {"userAccountControl": ["514"]}
    assert _disabled("openldap", {"pwdAccountLockedTime": []}) == {
        "pwdAccountLockedTime": ["000001010000Z"]
    }
