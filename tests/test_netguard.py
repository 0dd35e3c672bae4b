import ipaddress

import pytest

from askservice.netguard import Allowed, Blocked, check_url, resolve

REFUSED = [
    "http://127.0.0.1/",                        # loopback
    "http://127.9.9.9:8080/x",
    "http://[::1]/",
    "http://localhost/",                        # a name that resolves to loopback (from /etc/hosts, no network)
    "http://2130706433/",                       # 127.0.0.1 written as one number: getaddrinfo reads it
    "http://10.0.0.1/",                         # private
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://100.64.0.1/",                       # shared (carrier-grade NAT)
    "http://169.254.169.254/latest/meta-data/",  # link-local, cloud metadata
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",                  # AWS metadata over IPv6
    "http://[::ffff:127.0.0.1]/",               # IPv4-mapped IPv6
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::]/",                  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",                 # NAT64 of 10.0.0.1
    "http://0.0.0.0/",                          # unspecified (reaches the host itself on Linux)
    "http://[::]/",
    "http://224.0.0.1/",                        # multicast
    "http://240.0.0.1/",                        # reserved
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(Blocked, match="non-public"):
        check_url(url, Allowed())


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http:///path", "no host"),
    ("http://user:secret@example.com/", "credentials"),
    ("http://example.com:99999/", "not a valid URL"),  # was a ValueError out of urlsplit
    ("http://[::1/", "not a valid URL"),
    ("http://name.invalid/", "does not resolve"),
])
def test_malformed_urls_are_refused(url, why):
    with pytest.raises(Blocked, match=why):
        check_url(url, Allowed())


def test_a_public_address_passes_with_its_port():
    assert check_url("https://93.184.215.14/page", Allowed()) == ("93.184.215.14", 443, [ipaddress.ip_address("93.184.215.14")])
    assert check_url("http://[2606:4700::1]:8080/", Allowed())[1:] == (8080, [ipaddress.ip_address("2606:4700::1")])


def test_operators_allow_networks_and_names():
    allowed = Allowed.parse(" 127.0.0.1 , 10.1.2.0/24,searx.internal,*.corp,")
    assert check_url("http://127.0.0.1:9/", allowed)[2] == [ipaddress.ip_address("127.0.0.1")]
    assert check_url("http://[::ffff:10.1.2.3]/", allowed)[0] == "::ffff:10.1.2.3"
    for refused in ("http://127.0.0.2/", "http://10.1.3.1/", "http://[::1]/"):
        with pytest.raises(Blocked):
            check_url(refused, allowed)
    assert allowed.host("Searx.Internal.") and allowed.host("mcp.team.corp")
    assert not allowed.host("corp") and not allowed.host("evilcorp")


def test_a_name_is_allowed_by_name_whatever_it_resolves_to():
    addresses = resolve("localhost", 80, Allowed.parse("localhost"))
    assert addresses and all(ip.is_loopback for ip in addresses)
    with pytest.raises(Blocked, match="localhost resolves to"):
        resolve("localhost", 80, Allowed.parse("other.host"))
