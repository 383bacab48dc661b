"""Directory accounts: what "disabled" means for OpenLDAP (ppolicy) and Active Directory."""

from __future__ import annotations


def test_active_directory_accounts_get_the_accountdisable_bit() -> None:
    from rempart.contain.account import _disabled

    assert _disabled("ad", {"userAccountControl": ["512"]}) == {"userAccountControl": ["514"]}
    assert _disabled("ad", {"userAccountControl": ["514"]}) == {"userAccountControl": ["514"]}
    assert _disabled("openldap", {"pwdAccountLockedTime": []}) == {
        "pwdAccountLockedTime": ["000001010000Z"]
    }


def test_ldaps_checks_the_directory_s_certificate() -> None:
    """The bind password must not go to whoever answers (an attacker inside the network):
    ldaps:// verifies the certificate against the system's CAs, or the one given."""
    import ssl

    from rempart.contain.account import _server
    from rempart.contain.actions import LdapSettings

    server = _server(LdapSettings("ldaps://dc.example.test:636", "cn=admin", "pw"), 5)
    assert server.ssl and server.tls.validate == ssl.CERT_REQUIRED
    plain = _server(LdapSettings("ldap://127.0.0.1:389", "cn=admin", "pw"), 5)
    assert not plain.ssl
