//! `allowed_outbound_hosts`: parsing and matching with Spin's semantics.
//!
//! Each entry has the form `scheme://host[:port][/]`:
//!
//! * **scheme**: `*` (any) or a single alphabetic word, compared exactly
//!   (case-sensitively) with the lower-case scheme of the request.
//! * **host**: `*` (any host, including relative "self" requests), `self` /
//!   `self.alt` (relative requests only), a CIDR block such as `10.0.0.0/8`
//!   or `ff00::/8` (host bits are truncated; matches only IP-literal hosts),
//!   `*.example.com` (any subdomain at any depth, not the apex), or a literal
//!   domain / IPv4 / `[IPv6]` (domains are lower-cased and IDNA-mapped, so
//!   matching is case-insensitive).
//! * **port**: omitted → the scheme's default (http 80, https 443, redis
//!   6379, postgres 5432, mysql 3306, mqtt 1883; any other scheme, including
//!   `*`, must give a port), `*` (any), `N`, or a half-open range `A..B`
//!   (`8000..9000` allows 8000–8999).
//!
//! `rediss` has **no** default port in Spin: `rediss://host` is rejected as an
//! entry, and a `rediss://host` URL without a port is only allowed by an entry
//! with port `*`. This module does the same.
//!
//! A URL's port is the port `url` reports: `url` drops a port equal to the
//! default of a scheme it knows (`https://x:443` ≡ `https://x`), and the
//! default table above then fills it in. As in Spin, this means that for
//! `ws`, `wss` and `ftp` (which `url` knows but Spin does not) a URL naming
//! the default port explicitly is only allowed by an entry with port `*`.
//!
//! Errors use Spin's messages. Spin's loader adds the outer context
//! ``"`allowed_outbound_hosts` is malformed"`` and ``"Failed to load component `<id>`"``;
//! callers should do the same.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context as _, Result, bail};
use ipnet::IpNet;
use url::Host;

/// The domain suffix of service chaining hosts (`<component>.spin.internal`).
pub const SERVICE_CHAINING_DOMAIN_SUFFIX: &str = ".spin.internal";

const ALLOW_ALL_HOSTS: &str = "insecure:allow-all";
const LEARN_MORE: &str = "Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

/// Spin's default port for the schemes it knows about.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "mqtt" => Some(1883),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Exact(String),
}

impl SchemePattern {
    fn parse(scheme: &str) -> Result<Self> {
        if scheme == "*" {
            return Ok(Self::Any);
        }
        if scheme.starts_with('{') {
            bail!("scheme lists are not supported");
        }
        if scheme.chars().any(|c| !c.is_alphabetic()) {
            bail!("only alphabetic characters are allowed");
        }
        Ok(Self::Exact(scheme.to_string()))
    }

    fn allows(&self, scheme: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(s) => s == scheme,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    /// `*`
    Any,
    /// `*.example.com`, stored as `.example.com`.
    AnySubdomain(String),
    /// `self` or `self.alt`
    ToSelf,
    Literal(Host<String>),
    Cidr(IpNet),
}

impl HostPattern {
    fn parse(host: &str) -> Result<Self> {
        let host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host == "self" || host == "self.alt" {
            return Ok(Self::ToSelf);
        }
        if host.starts_with('{') {
            if !host.ends_with('}') {
                bail!("Condition failed: `host.ends_with('}}')`");
            }
            bail!("host lists are not yet supported");
        }
        if let Some(net) = parse_cidr(host) {
            return Ok(Self::Cidr(net));
        }
        let host = host.strip_suffix('/').unwrap_or(host);
        if host.contains('/') {
            bail!("must not include a path");
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                bail!("wildcards are allowed only as prefixes");
            }
            let parsed = Host::parse(domain)
                .with_context(|| format!("invalid wildcard host \"*.{domain}\""))?;
            let Host::Domain(domain) = parsed else {
                bail!("wildcard suffix must be a domain");
            };
            return Ok(Self::AnySubdomain(format!(".{domain}")));
        }
        if host.contains('*') {
            bail!("wildcards are allowed only as subdomains");
        }
        Ok(Self::Literal(Host::parse(host)?))
    }

    /// Does this pattern allow the (already parsed) host of an absolute URL?
    fn allows(&self, host: &Host<String>) -> bool {
        match (self, host) {
            (Self::Any, _) => true,
            (Self::AnySubdomain(suffix), Host::Domain(domain)) => domain.ends_with(suffix.as_str()),
            (Self::Literal(literal), host) => literal == host,
            (Self::Cidr(net), Host::Ipv4(ip)) => net.contains(&IpAddr::V4(*ip)),
            (Self::Cidr(net), Host::Ipv6(ip)) => net.contains(&IpAddr::V6(*ip)),
            (Self::AnySubdomain(_), _) | (Self::Cidr(_), Host::Domain(_)) | (Self::ToSelf, _) => {
                false
            }
        }
    }
}

/// `ip/prefix` with host bits truncated (`127.0.0.1/24` → `127.0.0.0/24`).
/// The prefix is required; a bare IP is not a CIDR block.
fn parse_cidr(text: &str) -> Option<IpNet> {
    let (ip, prefix) = text.split_once('/')?;
    if ip.is_empty() || prefix.is_empty() {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let ip: IpAddr = ip.parse().ok()?;
    IpNet::new(ip, prefix).ok().map(|net| net.trunc())
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PortPattern {
    Any,
    Port(u16),
    /// Half-open: `start..end` allows `start <= p < end`.
    Range(u16, u16),
}

impl PortPattern {
    fn parse(port: &str, scheme: &str) -> Result<Self> {
        if port.is_empty() {
            return well_known_port(scheme).map(Self::Port).with_context(|| {
                format!(
                    "no port was provided and the scheme {scheme:?} does not have a known default port number"
                )
            });
        }
        if port == "*" {
            return Ok(Self::Any);
        }
        if port.starts_with('{') {
            bail!("port lists are not yet supported");
        }
        if let Some((start, end)) = port.split_once("..") {
            let start = start
                .parse()
                .with_context(|| format!("port range {port:?} contains non-number"))?;
            let end = end
                .parse()
                .with_context(|| format!("port range {port:?} contains non-number"))?;
            return Ok(Self::Range(start, end));
        }
        let port = port
            .parse()
            .with_context(|| format!("port {port:?} is not a number"))?;
        Ok(Self::Port(port))
    }

    fn allows(&self, port: Option<u16>, scheme: &str) -> bool {
        let Some(port) = port.or_else(|| well_known_port(scheme)) else {
            return matches!(self, Self::Any);
        };
        match self {
            Self::Any => true,
            Self::Port(p) => *p == port,
            Self::Range(start, end) => (*start..*end).contains(&port),
        }
    }
}

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    original: String,
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

impl Rule {
    fn parse(original: &str) -> Result<Self> {
        let entry = original.trim();
        let Some((scheme, rest)) = entry.split_once("://") else {
            if matches!(entry, "*" | ":" | "" | "?") {
                bail!(
                    "{entry:?} is not an allowed outbound host format.\nHosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.\n{LEARN_MORE}"
                );
            }
            bail!("{entry:?} does not contain a scheme (e.g., 'http://' or '*://')\n{LEARN_MORE}");
        };

        // Split host and port at the last `:`, unless the whole rest is a
        // host on its own (IPv6 CIDR blocks such as `ff00::/8`).
        let (host, port) = match rest.rsplit_once(':') {
            None => (rest, ""),
            Some((host, "")) => (host, ""),
            Some((host, tail)) => {
                if HostPattern::parse(rest).is_ok() {
                    (rest, "")
                } else {
                    let port = match tail.split_once('/') {
                        Some((port, path)) => {
                            if !path.is_empty() {
                                bail!("{entry:?} has a path but is not allowed to");
                            }
                            port
                        }
                        None => tail,
                    };
                    (host, port)
                }
            }
        };

        let port_pattern = PortPattern::parse(port, scheme)
            .with_context(|| format!("Invalid allowed host port {port:?}"))?;
        let scheme_pattern = SchemePattern::parse(scheme)
            .with_context(|| format!("Invalid allowed host scheme {scheme:?}"))?;
        let host_pattern =
            HostPattern::parse(host).with_context(|| format!("Invalid allowed host {host:?}"))?;

        Ok(Self {
            original: original.to_string(),
            scheme: scheme_pattern,
            host: host_pattern,
            port: port_pattern,
        })
    }
}

/// A component's parsed `allowed_outbound_hosts`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    rules: Vec<Rule>,
}

impl AllowedHosts {
    /// Parses a component's entries.
    ///
    /// `entries`: already template-rendered strings from the manifest; an
    /// entry that rendered to `""`, `"http://"` or `"https://"` is skipped
    /// (Spin's "optional endpoint" rule for templates). Use
    /// [`AllowedHosts::parse_with_templates`] to reject such values when they
    /// were written literally, as Spin does.
    ///
    /// `component_ids`: every component id in the app; an entry whose host is
    /// `*.spin.internal` is expanded into one literal
    /// `<id>.spin.internal` entry per component (same scheme and port).
    ///
    /// Errors with Spin's messages for malformed entries, including a sole
    /// `insecure:allow-all` entry.
    pub fn parse(entries: &[String], component_ids: &[String]) -> Result<Self> {
        Self::parse_inner(
            entries.iter().map(|e| (true, e.as_str())),
            entries.len() == 1 && entries[0] == ALLOW_ALL_HOSTS,
            component_ids,
        )
    }

    /// Like [`AllowedHosts::parse`], with `(raw, rendered)` pairs: the
    /// "skip empty rendering" rule only applies to entries whose raw text is
    /// a template (contains `{{`); a literal `""` is an error as in Spin.
    pub fn parse_with_templates(
        entries: &[(String, String)],
        component_ids: &[String],
    ) -> Result<Self> {
        Self::parse_inner(
            entries
                .iter()
                .map(|(raw, rendered)| (raw.contains("{{"), rendered.as_str())),
            entries.len() == 1 && entries[0].0 == ALLOW_ALL_HOSTS,
            component_ids,
        )
    }

    fn parse_inner<'a>(
        entries: impl Iterator<Item = (bool, &'a str)>,
        sole_allow_all: bool,
        component_ids: &[String],
    ) -> Result<Self> {
        if sole_allow_all {
            bail!(
                "'{ALLOW_ALL_HOSTS}' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'"
            );
        }
        let mut rules = Vec::new();
        for (is_template, entry) in entries {
            if is_template && matches!(entry, "" | "http://" | "https://") {
                continue;
            }
            let rule = Rule::parse(entry)?;
            match &rule.host {
                HostPattern::AnySubdomain(suffix) if suffix == SERVICE_CHAINING_DOMAIN_SUFFIX => {
                    for id in component_ids {
                        let mut expanded = rule.clone();
                        expanded.host = HostPattern::Literal(Host::Domain(format!(
                            "{id}{SERVICE_CHAINING_DOMAIN_SUFFIX}"
                        )));
                        rules.push(expanded);
                    }
                }
                _ => rules.push(rule),
            }
        }
        Ok(Self { rules })
    }

    /// Is an absolute URL allowed (scheme, host and port)?
    ///
    /// The port is `url.port()`, or the scheme's default from
    /// [`well_known_port`] when `url` reports none; an unknown scheme without
    /// a port is only allowed by an entry with port `*`.
    pub fn allows_url(&self, url: &url::Url) -> bool {
        match url.host_str() {
            Some(host) => self.allows_parts(url.scheme(), host, url.port()),
            None => false,
        }
    }

    /// Is an address allowed, parsed as Spin parses outbound addresses?
    ///
    /// The userinfo is percent-encoded first (so `mysql://u:pa#ss@host`
    /// works); if the result is not a URL with a host, it is retried as
    /// `{default_scheme}://{address}` (so `localhost:6379` with `redis`, or
    /// `127.0.0.1:80` with `tcp`). An address that still does not parse is
    /// denied.
    pub fn allows_address(&self, address: &str, default_scheme: &str) -> bool {
        let address = encode_userinfo(address);
        let parsed = match url::Url::parse(&address) {
            Ok(url) if url.has_host() => Some(url),
            _ => url::Url::parse(&format!("{default_scheme}://{address}")).ok(),
        };
        parsed.is_some_and(|url| self.allows_url(&url))
    }

    /// Is a relative ("self") HTTP request allowed? True if some entry has
    /// host `self`, `self.alt` or `*` and scheme `http`, `https` or `*`; the
    /// port is ignored.
    pub fn allows_self(&self) -> bool {
        self.rules.iter().any(|rule| {
            matches!(rule.host, HostPattern::Any | HostPattern::ToSelf)
                && (rule.scheme.allows("http") || rule.scheme.allows("https"))
        })
    }

    /// For wasi:sockets TCP connects: is `tcp://IP:PORT` allowed?
    ///
    /// Spin checks the resolved socket address as the URL `tcp://{addr}`, so
    /// only entries with scheme `tcp` or `*` and a `*`, literal-IP or CIDR
    /// host can match (a domain-name entry never matches an IP). There is no
    /// default port for `tcp`. An IPv6 address with a non-zero scope id does
    /// not form a valid URL and is denied, as in Spin.
    pub fn allows_tcp(&self, addr: SocketAddr) -> bool {
        self.allows_address(&addr.to_string(), "tcp")
    }

    /// True if there are no entries (nothing is allowed).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// True if some entry targets a `<component>.spin.internal` host (after
    /// wildcard expansion), i.e. the component uses local service chaining.
    pub fn uses_service_chaining(&self) -> bool {
        self.rules.iter().any(|rule| match &rule.host {
            HostPattern::Literal(Host::Domain(domain)) => {
                domain.ends_with(SERVICE_CHAINING_DOMAIN_SUFFIX)
            }
            HostPattern::AnySubdomain(suffix) => suffix == SERVICE_CHAINING_DOMAIN_SUFFIX,
            _ => false,
        })
    }

    /// The entries as written (after template rendering and expansion of
    /// `*.spin.internal`, which repeats the original text per component).
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.original.as_str())
    }

    fn allows_parts(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        // Spin re-parses the host with the rules of special URLs, so hosts of
        // non-special schemes (redis, postgres, tcp...) are lower-cased and
        // IP literals are recognised. A host that fails to parse is denied.
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        self.rules.iter().any(|rule| {
            rule.scheme.allows(scheme) && rule.host.allows(&host) && rule.port.allows(port, scheme)
        })
    }
}

/// Percent-encodes the userinfo of `address` (everything from after `://`,
/// or the start, up to the first `@`), if that `@` comes before the first `/`
/// of the authority. Only the host is used afterwards, so encoding an
/// already-encoded userinfo is harmless.
fn encode_userinfo(address: &str) -> std::borrow::Cow<'_, str> {
    let Some(at) = address.find('@') else {
        return address.into();
    };
    let start = address.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = address
        .get(start..)
        .and_then(|rest| rest.find('/'))
        .map(|i| i + start)
        .unwrap_or(usize::MAX);
    // Spin panics when the `@` precedes the `://`; leave such input alone.
    if at < start || at >= path_start {
        return address.into();
    }
    let (Some(prefix), Some(userinfo), Some(suffix)) = (
        address.get(..start),
        address.get(start..at),
        address.get(at..),
    ) else {
        return address.into();
    };
    let mut encoded = String::with_capacity(address.len() * 3);
    encoded.push_str(prefix);
    for byte in userinfo.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded.push_str(suffix);
    encoded.into()
}

/// Converts deprecated `allowed_http_hosts` entries into
/// `allowed_outbound_hosts` entries (to be appended after the component's
/// own `allowed_outbound_hosts`).
///
/// `insecure:allow-all` anywhere → `http://*:*`, `https://*:*`, `http://self`;
/// `self` → `http://self`; `host[:port]` or `http(s)://host[:port][/]` → both
/// `http://host[:port]` and `https://host[:port]` (the original scheme is
/// ignored; a port equal to the original scheme's default is dropped, as
/// `url` does). Errors: `One or more allowed_http_hosts entries was invalid:`
/// followed by one line per bad entry (Spin adds the context
/// ``"`allowed_http_hosts` is malformed"``).
pub fn convert_allowed_http_hosts(entries: &[String]) -> Result<Vec<String>> {
    if entries.iter().any(|e| e == ALLOW_ALL_HOSTS) {
        return Ok(vec![
            "http://*:*".to_string(),
            "https://*:*".to_string(),
            "http://self".to_string(),
        ]);
    }
    let mut hosts = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        match parse_allowed_http_host(entry) {
            Ok(host) => hosts.push(host),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        bail!(
            "One or more allowed_http_hosts entries was invalid:\n{}",
            errors.join("\n")
        );
    }
    let mut converted = Vec::with_capacity(hosts.len() * 2);
    for (host, port) in hosts {
        if host == "self" {
            converted.push("http://self".to_string());
        } else {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            converted.push(format!("http://{host}{port}"));
            converted.push(format!("https://{host}{port}"));
        }
    }
    Ok(converted)
}

/// One `allowed_http_hosts` entry → (host as `url` prints it, explicit port).
fn parse_allowed_http_host(text: &str) -> std::result::Result<(String, Option<u16>), String> {
    let url = if text.contains("//") {
        let url = url::Url::parse(text)
            .map_err(|e| format!("{text} isn't a valid HTTP host URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{text} isn't a valid host or host:port string"));
        }
        url
    } else {
        url::Url::parse(&format!("http://{text}"))
            .map_err(|_| format!("{text} isn't a valid host or host:port string"))?
    };
    let host = url
        .host_str()
        .ok_or_else(|| format!("{text} doesn't contain a host name"))?;
    if url.path().len() > 1 {
        return Err(format!(
            "{text} contains a path, should be host and optional port only"
        ));
    }
    Ok((host.to_string(), url.port()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&strings(entries), &[])
            .unwrap_or_else(|e| panic!("{entries:?} should parse: {e:#}"))
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap_or_else(|e| panic!("{text:?} is not a URL: {e}"))
    }

    fn rule(entry: &str) -> Rule {
        Rule::parse(entry).unwrap_or_else(|e| panic!("{entry:?} should parse: {e:#}"))
    }

    fn literal(host: &str) -> HostPattern {
        HostPattern::Literal(Host::parse(host).expect("valid host"))
    }

    fn cidr(text: &str) -> HostPattern {
        HostPattern::Cidr(text.parse().expect("valid cidr"))
    }

    fn exact(scheme: &str) -> SchemePattern {
        SchemePattern::Exact(scheme.to_string())
    }

    #[test]
    fn parses_entries() {
        use PortPattern::{Any as AnyPort, Port, Range};
        for (entry, scheme, host, port) in [
            (
                "http://spin.fermyon.dev",
                exact("http"),
                literal("spin.fermyon.dev"),
                Port(80),
            ),
            (
                "http://spin.fermyon.dev/",
                exact("http"),
                literal("spin.fermyon.dev"),
                Port(80),
            ),
            (
                "  https://spin.fermyon.dev  ",
                exact("https"),
                literal("spin.fermyon.dev"),
                Port(443),
            ),
            (
                "http://spin.fermyon.dev:4444",
                exact("http"),
                literal("spin.fermyon.dev"),
                Port(4444),
            ),
            (
                "http://spin.fermyon.dev:4444/",
                exact("http"),
                literal("spin.fermyon.dev"),
                Port(4444),
            ),
            (
                "http://Spin.Fermyon.DEV:",
                exact("http"),
                literal("spin.fermyon.dev"),
                Port(80),
            ),
            (
                "http://x:4444..5555",
                exact("http"),
                literal("x"),
                Range(4444, 5555),
            ),
            (
                "*://spin.fermyon.dev:7777",
                SchemePattern::Any,
                literal("spin.fermyon.dev"),
                Port(7777),
            ),
            ("http://self", exact("http"), HostPattern::ToSelf, Port(80)),
            (
                "https://self.alt",
                exact("https"),
                HostPattern::ToSelf,
                Port(443),
            ),
            (
                "http://localhost:3001",
                exact("http"),
                literal("localhost"),
                Port(3001),
            ),
            (
                "http://*.example.com",
                exact("http"),
                HostPattern::AnySubdomain(".example.com".into()),
                Port(80),
            ),
            (
                "http://*.Example.COM",
                exact("http"),
                HostPattern::AnySubdomain(".example.com".into()),
                Port(80),
            ),
            (
                "http://192.168.1.1",
                exact("http"),
                literal("192.168.1.1"),
                Port(80),
            ),
            (
                "http://192.168.1.1:3002",
                exact("http"),
                literal("192.168.1.1"),
                Port(3002),
            ),
            (
                "http://[::1]:8001",
                exact("http"),
                literal("[::1]"),
                Port(8001),
            ),
            ("http://[::1]", exact("http"), literal("[::1]"), Port(80)),
            ("http://[::1]:*", exact("http"), literal("[::1]"), AnyPort),
            (
                "http://[::1]:8000..9000",
                exact("http"),
                literal("[::1]"),
                Range(8000, 9000),
            ),
            (
                "http://[::1]:8080/",
                exact("http"),
                literal("[::1]"),
                Port(8080),
            ),
            (
                "*://127.0.0.0/24:80",
                SchemePattern::Any,
                cidr("127.0.0.0/24"),
                Port(80),
            ),
            (
                "*://127.0.0.1/24:63551",
                SchemePattern::Any,
                cidr("127.0.0.0/24"),
                Port(63551),
            ),
            (
                "*://ff00::/8:80",
                SchemePattern::Any,
                cidr("ff00::/8"),
                Port(80),
            ),
            ("http://ff00::/8", exact("http"), cidr("ff00::/8"), Port(80)),
            (
                "https://2001:db8::/32",
                exact("https"),
                cidr("2001:db8::/32"),
                Port(443),
            ),
            (
                "http://2001:db8::/32:443",
                exact("http"),
                cidr("2001:db8::/32"),
                Port(443),
            ),
            ("http://::1/128", exact("http"), cidr("::1/128"), Port(80)),
            (
                "http://10.0.0.0/8",
                exact("http"),
                cidr("10.0.0.0/8"),
                Port(80),
            ),
            ("*://*:*", SchemePattern::Any, HostPattern::Any, AnyPort),
            ("http://*", exact("http"), HostPattern::Any, Port(80)),
            ("mqtt://*:*", exact("mqtt"), HostPattern::Any, AnyPort),
            (
                "postgres://db.local",
                exact("postgres"),
                literal("db.local"),
                Port(5432),
            ),
            (
                "mysql://db.local",
                exact("mysql"),
                literal("db.local"),
                Port(3306),
            ),
            (
                "redis://localhost",
                exact("redis"),
                literal("localhost"),
                Port(6379),
            ),
            (
                "mqtt://broker",
                exact("mqtt"),
                literal("broker"),
                Port(1883),
            ),
            (
                "rediss://cache:6380",
                exact("rediss"),
                literal("cache"),
                Port(6380),
            ),
            (
                "pg://localhost:5656",
                exact("pg"),
                literal("localhost"),
                Port(5656),
            ),
            (
                "tcp://127.0.0.1:*",
                exact("tcp"),
                literal("127.0.0.1"),
                AnyPort,
            ),
            (
                "http://+80.example:+80",
                exact("http"),
                literal("+80.example"),
                Port(80),
            ),
        ] {
            let parsed = rule(entry);
            assert_eq!(
                (parsed.scheme, parsed.host, parsed.port),
                (scheme, host, port),
                "entry {entry:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed_entries() {
        for bad in [
            "spin.fermyon.dev",
            "spin.fermyon.dev:80",
            "localhost:3001",
            "*://127.0.0.0/24",
            "*://example.com",
            "rediss://cache",
            "http://spin.fermyon.dev/a",
            "http://spin.fermyon.dev:6666/a/b",
            "http://*.fermyon.dev/a",
            "http://[::1]/foo",
            "http://ff00::/8/extra",
            "http://[::1",
            "http://[::1]junk",
            "http://[::1]::80",
            "http://[v1.]",
            "[::1]",
            "[::1]:8080",
            "http://example.com:notaport",
            "http://example.com:8080..70000",
            "http://self:notaport",
            "http://self.alt:notaport",
            "http://*:notaport",
            "http://127.0.0.1:notaport",
            "http://[::1]:notaport",
            "http://*.example.com:notaport",
            "http://*.example.com:8080..",
            "http://*.example.com:8O8O",
            "http://example.com:8080/p",
            "http://*.example.com:8080/p",
            "http://*.example.com/p",
            "http://127.0.0.0/24/p",
            "http://[::1junk",
            "http://*.",
            "http://*.:8080",
            "http://example%.com",
            "http://example%2.com",
            "http://example%GG.com",
            "http://exa[mple.com",
            r"http://exa\mple.com",
            "http://example.com:80:90",
            "http://[vG.example]",
            "http://example.com//",
            "http://*.example.com//",
            "http://self//",
            "http://[::1]//",
            "http://*.127.0.0.1",
            "http://*.192.168.001.001",
            "http://*.[::1]",
            "http://*.[2001:db8::1]",
            "http://a.*.example.com",
            "http://foo*.example.com",
            "http://*:80/x",
            "http://example.com:1-100",
            "http://example.com:{80,443}",
            "{http,https}://example.com",
            "http://{a,b}",
            "http://{a,b",
            "h2c://example.com:80",
            "HTTP://example.com",
            "http://",
            "http://:80",
            "http://10.0.0.0/33:80",
            "",
            "*",
            ":",
            "?",
        ] {
            assert!(Rule::parse(bad).is_err(), "expected {bad:?} to be rejected");
        }
    }

    #[test]
    fn error_messages() {
        let learn = "Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";
        for (entry, expected) in [
            (
                "*",
                format!(
                    "\"*\" is not an allowed outbound host format.\nHosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.\n{learn}"
                ),
            ),
            (
                "example.com",
                format!("\"example.com\" does not contain a scheme (e.g., 'http://' or '*://')\n{learn}"),
            ),
            (
                "http://example.com:80/path",
                "\"http://example.com:80/path\" has a path but is not allowed to".to_string(),
            ),
            (
                "http://example.com:x",
                "Invalid allowed host port \"x\": port \"x\" is not a number: invalid digit found in string".to_string(),
            ),
            (
                "http://example.com:99999",
                "Invalid allowed host port \"99999\": port \"99999\" is not a number: number too large to fit in target type".to_string(),
            ),
            (
                "http://example.com:1..x",
                "Invalid allowed host port \"1..x\": port range \"1..x\" contains non-number: invalid digit found in string".to_string(),
            ),
            (
                "*://example.com",
                "Invalid allowed host port \"\": no port was provided and the scheme \"*\" does not have a known default port number".to_string(),
            ),
            (
                "http://example.com:{80,443}",
                "Invalid allowed host port \"{80,443}\": port lists are not yet supported".to_string(),
            ),
            (
                "h2c://example.com:80",
                "Invalid allowed host scheme \"h2c\": only alphabetic characters are allowed".to_string(),
            ),
            (
                "{http,https}://example.com:80",
                "Invalid allowed host scheme \"{http,https}\": scheme lists are not supported".to_string(),
            ),
            (
                "http://example.com/x",
                "Invalid allowed host \"example.com/x\": must not include a path".to_string(),
            ),
            (
                "http://a.*.com",
                "Invalid allowed host \"a.*.com\": wildcards are allowed only as subdomains".to_string(),
            ),
            (
                "http://*.a.*",
                "Invalid allowed host \"*.a.*\": wildcards are allowed only as prefixes".to_string(),
            ),
            (
                "http://*.127.0.0.1",
                "Invalid allowed host \"*.127.0.0.1\": wildcard suffix must be a domain".to_string(),
            ),
            (
                "http://*.",
                "Invalid allowed host \"*.\": invalid wildcard host \"*.\": empty host".to_string(),
            ),
            (
                "http://{a,b}",
                "Invalid allowed host \"{a,b}\": host lists are not yet supported".to_string(),
            ),
            (
                "http://exa[mple.com",
                "Invalid allowed host \"exa[mple.com\": invalid international domain name".to_string(),
            ),
        ] {
            let err = Rule::parse(entry).expect_err("should be rejected");
            assert_eq!(format!("{err:#}"), expected, "entry {entry:?}");
        }
    }

    #[test]
    fn insecure_allow_all_is_rejected_only_as_sole_entry() {
        let err = AllowedHosts::parse(&strings(&["insecure:allow-all"]), &[])
            .expect_err("should be rejected");
        assert_eq!(
            err.to_string(),
            "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'"
        );
        let err = AllowedHosts::parse(&strings(&["http://x", "insecure:allow-all"]), &[])
            .expect_err("should be rejected");
        assert!(err.to_string().contains("does not contain a scheme"));
    }

    #[test]
    fn empty_renderings_are_skipped() {
        let hosts = allowed(&["", "http://", "https://", "https://three"]);
        assert_eq!(hosts.entries().collect::<Vec<_>>(), ["https://three"]);
        assert!(allowed(&[""]).is_empty());
        assert!(allowed(&[]).is_empty());
        // Other empty-host schemes are not skipped.
        assert!(AllowedHosts::parse(&strings(&["redis://"]), &[]).is_err());

        let with_raw = |pairs: &[(&str, &str)]| {
            AllowedHosts::parse_with_templates(
                &pairs
                    .iter()
                    .map(|(r, v)| (r.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
                &[],
            )
        };
        assert!(with_raw(&[("https://{{ host }}", "https://")]).is_ok_and(|h| h.is_empty()));
        assert!(with_raw(&[("{{ two }}", "")]).is_ok_and(|h| h.is_empty()));
        assert!(with_raw(&[("", "")]).is_err());
        assert!(with_raw(&[("http://", "http://")]).is_err());
        assert!(with_raw(&[("insecure:allow-all", "insecure:allow-all")]).is_err());
    }

    #[test]
    fn matching_table() {
        let hosts = allowed(&[
            "http://example.com:8383",
            "https://spin.fermyon.dev",
            "http://*.example2.com",
            "https://my.api.com/",
            "http://[::1]",
            "http://2001:db8::/32",
            "*://10.0.0.0/8:*",
            "http://*.Example3.COM",
            "http://ports.test:8000..9000",
            "redis://cache",
            "postgres://db",
            "mysql://xyz.com",
            "mqtt://broker:*",
            "rediss://secure:6380",
            "*://anything.test:25",
        ]);
        for (target, expected) in [
            ("http://example.com:8383/foo/bar", true),
            ("http://EXAMPLE.com:8383/", true),
            ("http://example.com/", false),
            ("https://example.com:8383/", false),
            ("http://google.com/", false),
            ("https://spin.fermyon.dev", true),
            ("https://spin.fermyon.dev/", true),
            ("https://spin.fermyon.dev:443/x", true),
            ("https://spin.fermyon.dev:444/x", false),
            ("http://spin.fermyon.dev", false),
            ("http://a.example2.com/foo/bar", true),
            ("http://a.b.example2.com/foo/bar", true),
            ("http://example2.com/foo/bar", false),
            ("http://myexample2.com/foo/bar", false),
            ("http://a.example2.com:8383/", false),
            ("https://my.api.com", true),
            ("http://[::1]", true),
            ("http://[::1]/some/path", true),
            ("http://[::1]:80", true),
            ("http://[::2]", false),
            ("http://[::1]:81", false),
            ("http://[2001:db8::1]", true),
            ("http://[2001:db8:abcd::1]/x", true),
            ("http://[2001:db9::1]", false),
            ("ftp://10.1.2.3:21/", true),
            ("http://10.255.255.255:1234/", true),
            ("http://11.0.0.1:1234/", false),
            // CIDR never matches domain names (no DNS).
            ("http://localhost/", false),
            ("http://foo.example3.com", true),
            ("http://a.b.example3.com/x", true),
            ("http://example3.com", false),
            ("http://ports.test:8000", true),
            ("http://ports.test:8999", true),
            ("http://ports.test:9000", false),
            ("http://ports.test", false),
            ("redis://cache", true),
            ("redis://cache:6379", true),
            ("redis://CACHE:6379/0", true),
            ("redis://cache:6380", false),
            ("redis://user:pw@cache:6379", true),
            ("postgres://db/mydb", true),
            ("postgres://db:5432/mydb", true),
            ("postgres://db:5433/mydb", false),
            ("mysql://xyz.com", true),
            ("mqtt://broker:1883", true),
            ("mqtt://broker", true),
            ("rediss://secure:6380", true),
            ("rediss://secure", false),
            ("smtp://anything.test:25", true),
            ("smtp://anything.test", false),
            ("http://anything.test:25", true),
            ("http://nowhere.test", false),
        ] {
            assert_eq!(hosts.allows_url(&url(target)), expected, "url {target:?}");
        }
    }

    #[test]
    fn self_entries_never_match_absolute_urls() {
        let hosts = allowed(&["http://self", "https://self.alt"]);
        assert!(!hosts.allows_url(&url("http://self/")));
        assert!(!hosts.allows_url(&url("https://self.alt/")));
        assert!(hosts.allows_self());
    }

    #[test]
    fn allows_self_table() {
        for (entries, expected) in [
            (&["http://self"][..], true),
            (&["https://self"][..], true),
            (&["http://self.alt:8080"][..], true),
            (&["*://self:*"][..], true),
            (&["http://*:*"][..], true),
            (&["*://*:*"][..], true),
            (&["https://*:443"][..], true),
            (&["redis://self"][..], false),
            (&["mqtt://*:*"][..], false),
            (&["http://localhost:3000"][..], false),
            (&["http://127.0.0.1:3000"][..], false),
            (&["http://0.0.0.0/0:*"][..], false),
            (&["http://*.spin.internal"][..], false),
            (&[][..], false),
        ] {
            assert_eq!(
                allowed(entries).allows_self(),
                expected,
                "entries {entries:?}"
            );
        }
    }

    #[test]
    fn https_default_port_is_equivalent() {
        let hosts = allowed(&["https://x.test:443"]);
        assert!(hosts.allows_url(&url("https://x.test")));
        assert!(hosts.allows_url(&url("https://x.test:443")));
        let hosts = allowed(&["http://x.test:80"]);
        assert!(hosts.allows_url(&url("http://x.test:80/")));
        assert!(!hosts.allows_url(&url("https://x.test/")));
    }

    #[test]
    fn schemes_url_knows_but_spin_does_not() {
        // `url` drops `:80` for ws, and Spin has no default for ws: only a
        // `*` port allows it (mirrors Spin).
        assert!(!allowed(&["ws://x.test:80"]).allows_url(&url("ws://x.test:80")));
        assert!(allowed(&["ws://x.test:*"]).allows_url(&url("ws://x.test:80")));
        assert!(allowed(&["ws://x.test:81"]).allows_url(&url("ws://x.test:81")));
    }

    #[test]
    fn urls_without_host_are_denied() {
        let hosts = allowed(&["*://*:*"]);
        assert!(!hosts.allows_url(&url("unix:/tmp/socket")));
        assert!(!hosts.allows_url(&url("data:text/plain,hi")));
        assert!(hosts.allows_url(&url("anything://x.test:1")));
    }

    #[test]
    fn allows_address_like_spin() {
        let hosts = allowed(&[
            "redis://localhost:6379",
            "mysql://xyz.com",
            "https://example.com",
        ]);
        for (address, scheme, expected) in [
            ("redis://localhost:6379", "redis", true),
            ("redis://localhost", "redis", true),
            ("localhost:6379", "redis", true),
            ("localhost", "redis", true),
            ("localhost:6380", "redis", false),
            ("mysql://user:pass#word@xyz.com", "mysql", true),
            ("mysql://user%3Apass%23word@xyz.com", "mysql", true),
            ("user%3Apass%23word@xyz.com", "mysql", true),
            ("https://example.com/file@0.1.0.json", "https", true),
            (
                "https://user:password@example.com/file@0.1.0.json",
                "https",
                true,
            ),
            (
                "https://user:pass#word@example.com/file@0.1.0.json",
                "https",
                true,
            ),
            ("example.com:443", "https", true),
            ("x@y://z", "redis", false),
            ("", "redis", false),
            ("::::", "redis", false),
            ("redis://[::1", "redis", false),
        ] {
            assert_eq!(
                hosts.allows_address(address, scheme),
                expected,
                "address {address:?} ({scheme})"
            );
        }
    }

    #[test]
    fn tcp_table() {
        let v4 = |a, b, c, d, port| SocketAddr::from((Ipv4Addr::new(a, b, c, d), port));
        let v6 = |ip: Ipv6Addr, port| SocketAddr::from((ip, port));
        let cases: &[(&[&str], SocketAddr, bool)] = &[
            (&["*://127.0.0.1/24:63551"], v4(127, 0, 0, 1, 63551), true),
            (&["*://127.0.0.1/24:63551"], v4(127, 0, 0, 1, 63552), false),
            (&["*://127.0.0.1/24:63551"], v4(127, 0, 1, 1, 63551), false),
            (&["tcp://127.0.0.1:5000"], v4(127, 0, 0, 1, 5000), true),
            (&["tcp://127.0.0.1:*"], v4(127, 0, 0, 1, 1), true),
            (
                &["tcp://127.0.0.1:5000..5002"],
                v4(127, 0, 0, 1, 5002),
                false,
            ),
            (&["tcp://*:*"], v4(8, 8, 8, 8, 53), true),
            (&["*://*:*"], v6(Ipv6Addr::LOCALHOST, 80), true),
            (&["tcp://[::1]:80"], v6(Ipv6Addr::LOCALHOST, 80), true),
            (&["tcp://::/0:80"], v6(Ipv6Addr::LOCALHOST, 80), true),
            (&["tcp://0.0.0.0/0:80"], v6(Ipv6Addr::LOCALHOST, 80), false),
            // A domain-name entry can never match an IP.
            (&["tcp://localhost:5000"], v4(127, 0, 0, 1, 5000), false),
            (&["tcp://*.local:5000"], v4(127, 0, 0, 1, 5000), false),
            // Wrong scheme.
            (&["http://127.0.0.1:5000"], v4(127, 0, 0, 1, 5000), false),
            (&["udp://127.0.0.1:5000"], v4(127, 0, 0, 1, 5000), false),
            // IPv4-mapped IPv6 is not the IPv4 address.
            (
                &["tcp://127.0.0.1:80"],
                v6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped(), 80),
                false,
            ),
            (&[], v4(127, 0, 0, 1, 80), false),
        ];
        for (entries, addr, expected) in cases {
            assert_eq!(
                allowed(entries).allows_tcp(*addr),
                *expected,
                "entries {entries:?} addr {addr}"
            );
        }
        // A scoped IPv6 address is not a valid URL host: denied, as in Spin.
        let scoped = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().expect("ip"), 80, 0, 2));
        assert!(!allowed(&["*://*:*"]).allows_tcp(scoped));
    }

    #[test]
    fn service_chaining_wildcard_expansion() {
        let ids = strings(&["first", "second", "third"]);
        let hosts = AllowedHosts::parse(
            &strings(&[
                "pg://localhost:5656",
                "http://*.spin.internal",
                "https://spinframework.dev",
            ]),
            &ids,
        )
        .expect("should parse");
        let hosts_of: Vec<HostPattern> = hosts.rules.iter().map(|r| r.host.clone()).collect();
        assert_eq!(
            hosts_of,
            vec![
                literal("localhost"),
                literal("first.spin.internal"),
                literal("second.spin.internal"),
                literal("third.spin.internal"),
                literal("spinframework.dev"),
            ]
        );
        assert!(hosts.uses_service_chaining());
        assert!(hosts.allows_url(&url("http://second.spin.internal/x")));
        assert!(!hosts.allows_url(&url("https://second.spin.internal/x")));
        assert!(!hosts.allows_url(&url("http://fourth.spin.internal/x")));
        assert!(!hosts.allows_url(&url("http://a.first.spin.internal/x")));

        let https = AllowedHosts::parse(&strings(&["https://*.spin.internal"]), &ids)
            .expect("should parse");
        assert!(https.allows_url(&url("https://first.spin.internal/x")));
        assert!(!https.allows_url(&url("http://first.spin.internal/x")));

        // No components: the wildcard expands to nothing.
        let none =
            AllowedHosts::parse(&strings(&["http://*.spin.internal"]), &[]).expect("should parse");
        assert!(none.is_empty());

        let literal_only = allowed(&["http://back.spin.internal"]);
        assert!(literal_only.uses_service_chaining());
        assert!(literal_only.allows_url(&url("http://back.spin.internal/hello")));
        assert!(!allowed(&["http://example.com"]).uses_service_chaining());
    }

    #[test]
    fn any_host_pattern_matches_everything_parseable() {
        let hosts = allowed(&["*://*:*"]);
        for target in [
            "http://example.com",
            "https://[::1]:1",
            "redis://10.0.0.1:6379",
            "tcp://x:1",
            "postgres://user@db",
        ] {
            assert!(hosts.allows_url(&url(target)), "url {target:?}");
        }
    }

    #[test]
    fn converts_allowed_http_hosts() {
        for (input, expected) in [
            (
                &["insecure:allow-all"][..],
                &["http://*:*", "https://*:*", "http://self"][..],
            ),
            (
                &["spin.fermyon.dev", "insecure:allow-all"][..],
                &["http://*:*", "https://*:*", "http://self"][..],
            ),
            (&["self"][..], &["http://self"][..]),
            (
                &["spin.fermyon.dev"][..],
                &["http://spin.fermyon.dev", "https://spin.fermyon.dev"][..],
            ),
            (
                &["http://spin.fermyon.dev/"][..],
                &["http://spin.fermyon.dev", "https://spin.fermyon.dev"][..],
            ),
            (
                &["https://spin.fermyon.dev:5555"][..],
                &[
                    "http://spin.fermyon.dev:5555",
                    "https://spin.fermyon.dev:5555",
                ][..],
            ),
            (
                &["localhost:3001", "192.168.1.1"][..],
                &[
                    "http://localhost:3001",
                    "https://localhost:3001",
                    "http://192.168.1.1",
                    "https://192.168.1.1",
                ][..],
            ),
            (&["[::1]"][..], &["http://[::1]", "https://[::1]"][..]),
            (
                &["http://[::1]:8001"][..],
                &["http://[::1]:8001", "https://[::1]:8001"][..],
            ),
            // `url` drops the scheme-default port.
            (
                &["example.com:80"][..],
                &["http://example.com", "https://example.com"][..],
            ),
            (
                &["example.com:443"][..],
                &["http://example.com:443", "https://example.com:443"][..],
            ),
            (
                &["https://example.com:443"][..],
                &["http://example.com", "https://example.com"][..],
            ),
            (
                &["Example.COM"][..],
                &["http://example.com", "https://example.com"][..],
            ),
            (&[][..], &[][..]),
        ] {
            let got = convert_allowed_http_hosts(&strings(input))
                .unwrap_or_else(|e| panic!("{input:?} should convert: {e:#}"));
            assert_eq!(got, expected, "input {input:?}");
        }
    }

    #[test]
    fn converted_entries_parse() {
        let converted = convert_allowed_http_hosts(&strings(&["localhost:3001", "self"]))
            .expect("should convert");
        let hosts = AllowedHosts::parse(&converted, &[]).expect("converted entries parse");
        assert!(hosts.allows_url(&url("https://localhost:3001/")));
        assert!(hosts.allows_self());
    }

    #[test]
    fn allowed_http_hosts_errors() {
        let err = convert_allowed_http_hosts(&strings(&[
            "ftp://x",
            "example.com/wib/wob",
            "http://exa mple.com",
            "ok.example.com",
            "http://",
        ]))
        .expect_err("should fail");
        assert_eq!(
            err.to_string(),
            "One or more allowed_http_hosts entries was invalid:\n\
             ftp://x isn't a valid host or host:port string\n\
             example.com/wib/wob contains a path, should be host and optional port only\n\
             http://exa mple.com isn't a valid HTTP host URL: invalid international domain name\n\
             http:// isn't a valid HTTP host URL: empty host"
        );
        for bad in [
            "ftp://spin.fermyon.dev",
            "ftp://spin.fermyon.dev:6666",
            "http://spin.fermyon.dev/a",
            "http://spin.fermyon.dev:6666/a/b",
            "bad host",
            "host:notaport",
        ] {
            assert!(
                convert_allowed_http_hosts(&strings(&[bad])).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn userinfo_encoding() {
        for (input, expected) in [
            ("mysql://u:p#w@h", "mysql://u%3Ap%23w@h"),
            ("u:p@h", "u%3Ap@h"),
            ("https://h/file@1.json", "https://h/file@1.json"),
            ("x@y://z", "x@y://z"),
            ("no-at-sign", "no-at-sign"),
            ("s://é@h", "s://%C3%A9@h"),
        ] {
            assert_eq!(encode_userinfo(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn never_panics_on_odd_entries() {
        for entry in [
            "://",
            ":///",
            "*://",
            "a://:",
            "a://[",
            "a://]:",
            "é://é",
            "http://é.com",
            "a://b:..",
            "a://b:..1",
            "a://b:1..",
            "http://0/0",
            "http:///",
            "http://*:*/",
            "http://:*",
        ] {
            let _ = Rule::parse(entry);
        }
        assert!(rule("http://é.com").host == literal("xn--9ca.com"));
    }
}
