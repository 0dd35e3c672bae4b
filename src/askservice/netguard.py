"""Which addresses the server itself may reach (web pages, search engines, MCP servers).

A URL a client names (a page to read, an MCP server) must not become a way into the server's own
network: after DNS resolution every address must be public unicast. Loopback, private (RFC 1918,
fc00::/7), shared (100.64.0.0/10), link-local (169.254.0.0/16, fe80::/10, where cloud metadata
lives), multicast, reserved and unspecified addresses are refused, also when hidden in an
IPv4-mapped or 6to4/Teredo IPv6 address, unless an operator allows them by name: `Allowed`
takes host names (exact, or `*.suffix`) and networks (CIDR), e.g. from a setting such as
`WEB_FETCH_ALLOW=searx.internal,10.1.2.0/24`. Callers check each hop of a redirect again and
connect to the addresses `resolve` returned (so a second DNS answer cannot swap them).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class Blocked(Exception):
    """The URL or one of its addresses may not be reached; the message says which and why."""


@dataclass(frozen=True)
class Allowed:
    """Names and networks an operator lets the server reach although they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, setting: str | None) -> "Allowed":
        """Read a comma-separated list of host names (`*.corp` for a suffix) and CIDR networks."""
        hosts, networks = set(), []
        for entry in (part.strip() for part in (setting or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def host(self, name: str) -> bool:
        """Tell whether host `name` is allowed by name."""
        name = name.lower().rstrip(".")
        return name in self.hosts or any(h.startswith("*.") and name.endswith(h[1:]) for h in self.hosts)

    def address(self, ip: IPAddress) -> bool:
        """Tell whether `ip` lies in an allowed network."""
        return any(ip.version == net.version and ip in net for net in self.networks)


def embedded(ip: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv6 address carries (mapped, 6to4, Teredo), else `ip` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if inner is not None:
                return inner
    return ip


def public(ip: IPAddress) -> bool:
    """Tell whether `ip` is a public unicast address (what the internet routes to someone else)."""
    ip = embedded(ip)
    if any(ip in net for net in METADATA if net.version == ip.version):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
                                 or ip.is_link_local or ip.is_private)


def check_address(ip: IPAddress, host: str, allowed: Allowed) -> None:
    """Raise Blocked unless `ip` (an address of `host`) is public or allowed."""
    if public(ip) or allowed.host(host) or allowed.address(embedded(ip)):
        return
    raise Blocked(f"{host} resolves to {ip}, a non-public address this server does not reach")


def resolve(host: str, port: int, allowed: Allowed) -> list[IPAddress]:
    """Return the addresses of `host`, every one checked (Blocked if any is refused or none exists)."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Blocked(f"{host} does not resolve: {exc}") from None
        found = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not found:
        raise Blocked(f"{host} does not resolve")
    for ip in found:
        check_address(ip, host, allowed)
    return found


def check_url(url: str, allowed: Allowed) -> tuple[str, int, list[IPAddress]]:
    """Check a URL the server is asked to reach; return its host, port and checked addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # a bad port or a bracket left open: the client's URL, not our bug
        raise Blocked(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise Blocked(f"{url!r}: only http and https URLs are fetched")
    if not parts.hostname:
        raise Blocked(f"{url!r} has no host")
    if parts.username or parts.password:
        raise Blocked(f"{url!r}: credentials in URLs are refused")
    return parts.hostname, port, resolve(parts.hostname, port, allowed)
