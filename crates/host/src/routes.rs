//! The HTTP trigger's route table, with the semantics of Spin's router.
//!
//! Spin normalises each `route` of a `[[trigger.http]]` and hands it to the
//! `routefinder` crate, whose matching and ordering rules are therefore part
//! of Spin's observable behaviour. This module re-implements those rules:
//!
//! * **Normalisation**: the raw route is made absolute (`foo` → `/foo`) and
//!   one trailing `/` is removed (`/foo/` → `/foo`, `/` → `""`). That string
//!   is the *based route* (`spin-matched-route`). A trailing `/...` (or a
//!   trailing `/*`) makes the route a trailing wildcard.
//! * **Segments**: the route (leading and trailing `/` trimmed) is split
//!   on `/` and on `.`; each piece is `*` (wildcard, only allowed last),
//!   `:name` (a parameter) or literal text, and empty pieces are dropped.
//!   A `/` becomes a separator segment when a non-empty piece follows it. A
//!   `.` is glued onto the literal text just before it if the last segment
//!   is literal text (so `/foo.json` is the literals `foo.` and `json`, and a
//!   `.` right after an empty piece joins the literal before that piece:
//!   `/x/.y` is `x.` then `y`); otherwise it is a dot segment (so
//!   `/x/:p.json` is `x`, `/`, parameter `p`, `.`, `json`).
//! * **Matching**: every leading and trailing `/` of the request path is
//!   trimmed first, so trailing slashes never matter. Literal segments are
//!   case-sensitive and compared on the raw (not percent-decoded) path. A
//!   parameter needs a non-empty remainder; followed by a `.` in the route it
//!   captures up to the next `.` of the path (and fails if a `/` or the end
//!   comes first), otherwise up to the next `/` (which can be an empty
//!   capture for `//`). A trailing wildcard matches the prefix itself and
//!   everything below it.
//! * **Precedence**: routes are compared position by position on the segment
//!   kind, in this order: literal, parameter, wildcard, `/`; the first
//!   position that is not a tie decides, then the route with more dots comes
//!   first, then the one with fewer segments, then declaration order. The
//!   first route in that order that matches wins. A dot ties with a `/` or a
//!   dot; against a literal, parameter or wildcard `routefinder` ranks either
//!   side first, so the route being inserted wins. With dots the comparison
//!   is therefore neither antisymmetric nor transitive, and the order is the
//!   one `routefinder` gets by inserting the routes into a `BTreeMap` in
//!   declaration order, which is also done here.
//! * **Duplicates**: two routes with the same raw string: the later
//!   declaration wins but keeps the position of the first, and a warning is
//!   produced. Raw strings that differ but normalise the same (`/foo` and
//!   `/foo/`) are both kept; the first declared wins.
//!
//! Deviations from Spin: a `*` segment that is not the last segment (also
//! `/*.json`) is rejected when the router is built (`routefinder` accepts it
//! and then panics at match time). `routefinder` mixes byte and character
//! offsets, so it mis-splits routes and paths containing non-ASCII text; here
//! those are split as written.
//!
//! The router does not special-case `/.well-known/spin/`: the server answers
//! those paths before consulting the router. [`Router::build`] only warns
//! about routes declared there.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, anyhow};

/// Paths under this prefix are handled by the runtime, never by components.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Literal text (may contain `.`; never contains `/`).
    Exact(String),
    /// `:name`.
    Param(String),
    /// `*`, always the last segment.
    Wildcard,
    /// A `/` between two segments.
    Slash,
    /// A `.` that does not follow literal text.
    Dot,
}

impl Segment {
    /// Compares the segment of a route being inserted (`self`) with the
    /// segment at the same position of an already placed route (`Less` = the
    /// new route goes first): literal, parameter, wildcard, slash; a dot ties
    /// with a slash or a dot, and against anything else the new route goes
    /// first (`routefinder` ranks a dot and a literal, parameter or wildcard
    /// each above the other, whichever side is asked).
    fn precedence(&self, placed: &Segment) -> Ordering {
        fn rank(segment: &Segment) -> u8 {
            match segment {
                Segment::Exact(_) => 0,
                Segment::Param(_) => 1,
                Segment::Wildcard => 2,
                Segment::Slash | Segment::Dot => 3,
            }
        }
        match (self, placed) {
            (Segment::Dot | Segment::Slash, Segment::Dot | Segment::Slash) => Ordering::Equal,
            (Segment::Dot, _) | (_, Segment::Dot) => Ordering::Less,
            _ => rank(self).cmp(&rank(placed)),
        }
    }
}

/// Compares a route being inserted with an already placed one (`Less` = the
/// new route goes first): the first position whose [`Segment::precedence`]
/// is not a tie decides, then more dots, then fewer segments.
fn compare_routes(new: &[Segment], placed: &[Segment]) -> Ordering {
    let dots = |segments: &[Segment]| segments.iter().filter(|s| **s == Segment::Dot).count();
    new.iter()
        .zip(placed)
        .map(|(n, p)| n.precedence(p))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| {
            dots(placed)
                .cmp(&dots(new))
                .then_with(|| new.len().cmp(&placed.len()))
        })
}

/// The key routes are sorted by: [`compare_routes`], then declaration order.
///
/// With dots, [`compare_routes`] is neither antisymmetric nor transitive
/// (`/files/:n.json` before `/`, `/` before `/files/x`, `/files/x` before
/// `/files/:n.json`), so the order depends on how the routes are inserted.
/// `routefinder` inserts them in declaration order into a `BTreeMap`, whose
/// search compares the new key (as `self`) with the keys already in the
/// map; doing the same gives Spin's order for any number of routes. (The
/// standard library leaves the effect of an inconsistent `Ord` on a
/// `BTreeMap` unspecified but memory-safe; insertion only uses it to choose
/// a position, which is what `routefinder` relies on as well.)
struct RouteKey {
    segments: Vec<Segment>,
    index: usize,
}

impl Ord for RouteKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_routes(&self.segments, &other.segments).then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for RouteKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RouteKey {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl Eq for RouteKey {}

#[derive(Clone, Debug)]
struct Entry {
    component_id: String,
    raw_route: String,
    based_route: String,
    component_route: String,
    /// The based route without its trailing wildcard marker (`/foo` for
    /// `/foo/...` and `/foo/*`); equal to `based_route` for exact routes.
    prefix: String,
    is_wildcard: bool,
    segments: Vec<Segment>,
}

/// Spin's HTTP route table. See the module documentation for the rules.
#[derive(Clone, Debug, Default)]
pub struct Router {
    /// Entries in match order (best first).
    entries: Vec<Entry>,
}

/// The result of routing a request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// The component (or trigger) id the route belongs to.
    pub component_id: &'a str,
    /// The route exactly as written in the manifest (`spin-raw-component-route`).
    pub raw_route: &'a str,
    /// The normalised route, e.g. `/foo/...`; `""` for `/` (`spin-matched-route`).
    pub based_route: &'a str,
    /// The raw route with a trailing `/...` stripped (`spin-component-route`).
    pub component_route: &'a str,
    /// The trailing-wildcard remainder (`spin-path-info`); `""` for exact routes.
    pub path_info: String,
    /// `(name as written, raw captured value)` for each `:name` parameter, in
    /// route order. A name that occurs twice appears once, with the last
    /// captured value (Spin collects the captures into a map).
    pub params: Vec<(String, String)>,
}

/// One route of the table, for listing routes at startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSummary<'a> {
    /// The component (or trigger) id the route belongs to.
    pub component_id: &'a str,
    /// The route as written in the manifest.
    pub raw_route: &'a str,
    /// The normalised route (`""` for `/`).
    pub based_route: &'a str,
    /// The normalised route without the wildcard marker (`/foo` for
    /// `/foo/...`, `""` for `/` and `/...`).
    pub prefix: &'a str,
    /// The route path without the wildcard marker, `/` if that is empty
    /// (what Spin reports as the route `path` in `--json` output).
    pub path: &'a str,
    /// Whether the route has a trailing wildcard.
    pub is_wildcard: bool,
}

impl RouteSummary<'_> {
    /// The route as Spin prints it after the base URL in "Available Routes":
    /// the route without its wildcard marker (empty for `/` and `/...`), plus
    /// ` (wildcard)` for wildcard routes.
    pub fn display(&self) -> String {
        if self.is_wildcard {
            format!("{} (wildcard)", self.prefix)
        } else {
            self.prefix.to_string()
        }
    }
}

impl Router {
    /// Builds the route table.
    ///
    /// `routes` = (component id, raw route string exactly as written in
    /// spin.toml), in declaration order. Private routes are not passed in.
    /// Returns the router plus human-readable warnings, one line each (Spin
    /// logs them at error level): duplicate routes (a header line followed by
    /// one `  <replaced id>: <route> (duplicate of <effective id>)` line per
    /// duplicate) and routes under `/.well-known/spin/`.
    ///
    /// Errors on malformed routes: an unnamed `:` parameter, a named wildcard
    /// `*name`, or a wildcard that is not the last segment.
    pub fn build(
        routes: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Router, Vec<String>)> {
        struct Pending {
            component_id: String,
            raw_route: String,
            based_route: String,
        }

        let mut pending: Vec<Pending> = Vec::new();
        let mut position_by_raw: HashMap<String, usize> = HashMap::new();
        let mut duplicates = Vec::new();

        for (component_id, raw_route) in routes {
            let based_route = normalise(&raw_route);
            let new = Pending {
                component_id,
                raw_route,
                based_route,
            };
            match position_by_raw.get(&new.raw_route) {
                Some(&index) => {
                    let effective_id = new.component_id.clone();
                    let replaced = std::mem::replace(&mut pending[index], new);
                    let shown = if replaced.based_route.is_empty() {
                        "/"
                    } else {
                        replaced.based_route.as_str()
                    };
                    duplicates.push(format!(
                        "  {}: {} (duplicate of {})",
                        replaced.component_id, shown, effective_id
                    ));
                }
                None => {
                    position_by_raw.insert(new.raw_route.clone(), pending.len());
                    pending.push(new);
                }
            }
        }

        let mut warnings = Vec::new();
        if !duplicates.is_empty() {
            warnings.push(
                "The following component routes are duplicates and will never be used:".to_string(),
            );
            warnings.extend(duplicates);
        }

        let mut sorted = BTreeMap::new();
        for (index, p) in pending.into_iter().enumerate() {
            let (segments, is_wildcard, prefix) =
                parse_based_route(&p.based_route).map_err(|e| {
                    anyhow!(
                        "Error parsing route {} associated with component {}: {e}",
                        p.based_route,
                        p.component_id
                    )
                })?;
            let component_route = p
                .raw_route
                .strip_suffix("/...")
                .unwrap_or(&p.raw_route)
                .to_string();
            let entry = Entry {
                component_id: p.component_id,
                raw_route: p.raw_route,
                based_route: p.based_route,
                component_route,
                prefix,
                is_wildcard,
                segments,
            };
            let key = RouteKey {
                segments: entry.segments.clone(),
                index,
            };
            sorted.insert(key, entry);
        }
        let entries: Vec<Entry> = sorted.into_values().collect();

        if entries
            .iter()
            .any(|e| e.based_route.starts_with(WELL_KNOWN_PREFIX))
        {
            warnings.push(format!(
                "Routes under {WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached"
            ));
        }

        Ok((Router { entries }, warnings))
    }

    /// Matches a raw request path (no query, not percent-decoded).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        self.entries.iter().find_map(|entry| {
            let captured = match_segments(&entry.segments, path)?;
            let path_info = match captured.wildcard {
                None => String::new(),
                Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
                    (true, false) => String::new(),
                    (true, true) => "/".to_string(),
                    (false, false) => format!("/{rest}"),
                    (false, true) => format!("/{rest}/"),
                },
            };
            let mut params: Vec<(String, String)> = Vec::with_capacity(captured.params.len());
            for (name, value) in captured.params {
                match params.iter_mut().find(|(n, _)| n == name) {
                    Some(existing) => existing.1 = value.to_string(),
                    None => params.push((name.to_string(), value.to_string())),
                }
            }
            Some(RouteMatch {
                component_id: &entry.component_id,
                raw_route: &entry.raw_route,
                based_route: &entry.based_route,
                component_route: &entry.component_route,
                path_info,
                params,
            })
        })
    }

    /// The routes in match order (best first), as Spin lists them at startup.
    pub fn routes(&self) -> impl Iterator<Item = RouteSummary<'_>> {
        self.entries.iter().map(|e| RouteSummary {
            component_id: &e.component_id,
            raw_route: &e.raw_route,
            based_route: &e.based_route,
            prefix: &e.prefix,
            path: if e.prefix.is_empty() { "/" } else { &e.prefix },
            is_wildcard: e.is_wildcard,
        })
    }

    /// Number of routes in the table (after removing duplicates).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no routes at all (every request is a 404).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Makes a raw route absolute and strips one trailing `/` (base is always `/`).
fn normalise(raw: &str) -> String {
    let absolute = if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("/{raw}")
    };
    match absolute.strip_suffix('/') {
        Some(stripped) => stripped.to_string(),
        None => absolute,
    }
}

/// Parses a based route into segments; also returns whether it is a trailing
/// wildcard route and the route without its wildcard marker.
fn parse_based_route(based: &str) -> Result<(Vec<Segment>, bool, String), String> {
    let (spec, is_wildcard, prefix) = if let Some(prefix) = based.strip_suffix("/...") {
        (format!("{prefix}/*"), true, prefix.to_string())
    } else if let Some(prefix) = based.strip_suffix("/*") {
        (based.to_string(), true, prefix.to_string())
    } else {
        (based.to_string(), false, based.to_string())
    };

    let segments = parse_segments(&spec)?;

    if let Some(pos) = segments.iter().position(|s| *s == Segment::Wildcard)
        && pos + 1 != segments.len()
    {
        return Err(
            "a wildcard (`*` or `...`) is only supported as the last segment of a route"
                .to_string(),
        );
    }

    Ok((segments, is_wildcard, prefix))
}

/// Splits a route spec on `/` and `.` into segments (see the module docs).
fn parse_segments(spec: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = spec.trim_matches('/');
    // The separator just before `rest` (`None` at the start).
    let mut separator = None;
    loop {
        let end = rest.find(['/', '.']).unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        let segment = if piece.is_empty() {
            None
        } else if piece == "*" {
            Some(Segment::Wildcard)
        } else if piece.starts_with('*') {
            return Err(format!(
                "since there can only be one wildcard, it doesn't need a name. replace `{piece}` with `*`"
            ));
        } else if piece == ":" {
            return Err("params must be named".to_string());
        } else if let Some(name) = piece.strip_prefix(':') {
            Some(Segment::Param(name.to_string()))
        } else {
            Some(Segment::Exact(piece.to_string()))
        };
        if separator == Some('.') {
            match segments.last_mut() {
                Some(Segment::Exact(text)) => text.push('.'),
                _ => segments.push(Segment::Dot),
            }
        }
        if let Some(segment) = segment {
            if separator == Some('/') {
                segments.push(Segment::Slash);
            }
            segments.push(segment);
        }
        let mut chars = tail.chars();
        match chars.next() {
            Some(c) => {
                separator = Some(c);
                rest = chars.as_str();
            }
            None => return Ok(segments),
        }
    }
}

struct Captured<'r, 'p> {
    params: Vec<(&'r str, &'p str)>,
    wildcard: Option<&'p str>,
}

/// Matches a request path against parsed segments.
fn match_segments<'r, 'p>(segments: &'r [Segment], path: &'p str) -> Option<Captured<'r, 'p>> {
    let mut rest = path.trim_matches('/');
    let mut captured = Captured {
        params: Vec::new(),
        wildcard: None,
    };
    for (index, segment) in segments.iter().enumerate() {
        let next = segments.get(index + 1);
        match segment {
            Segment::Exact(text) => rest = rest.strip_prefix(text.as_str())?,
            Segment::Param(name) => {
                if rest.is_empty() {
                    return None;
                }
                let end = if next == Some(&Segment::Dot) {
                    // Up to the next `.`, which must come before any `/`.
                    let end = rest.find(['.', '/'])?;
                    if !rest[end..].starts_with('.') {
                        return None;
                    }
                    end
                } else {
                    rest.find('/').unwrap_or(rest.len())
                };
                let (value, after) = rest.split_at(end);
                captured.params.push((name.as_str(), value));
                rest = after;
            }
            Segment::Wildcard => {
                captured.wildcard = Some(rest);
                rest = "";
            }
            // The `/` may only be absent when nothing is left and a
            // wildcard follows (`/foo/...` matching `/foo`).
            Segment::Slash => match rest.strip_prefix('/') {
                Some(after) if next.is_some() => rest = after,
                None if rest.is_empty() && matches!(next, None | Some(Segment::Wildcard)) => {}
                _ => return None,
            },
            Segment::Dot => rest = rest.strip_prefix('.')?,
        }
    }
    (rest.is_empty() || rest == "/").then_some(captured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(routes: &[(&str, &str)]) -> (Router, Vec<String>) {
        Router::build(routes.iter().map(|(id, r)| (id.to_string(), r.to_string())))
            .expect("routes should build")
    }

    /// A router where every component id is its own raw route.
    fn build_self_named(routes: &[&str]) -> Router {
        build(&routes.iter().map(|r| (*r, *r)).collect::<Vec<_>>()).0
    }

    fn matched_id<'a>(router: &'a Router, path: &str) -> Option<&'a str> {
        router.route(path).map(|m| m.component_id)
    }

    #[test]
    fn normalisation() {
        for (raw, based) in [
            ("foo", "/foo"),
            ("/foo", "/foo"),
            ("/foo/", "/foo"),
            ("/foo//", "/foo/"),
            ("/", ""),
            ("", ""),
            ("/...", "/..."),
            ("...", "/..."),
            ("/foo/...", "/foo/..."),
            ("foo/...", "/foo/..."),
            ("/foo/.../", "/foo/..."),
            ("/foo/*", "/foo/*"),
        ] {
            assert_eq!(normalise(raw), based, "raw {raw:?}");
        }
    }

    #[test]
    fn sorted_order_matches_routefinder() {
        // The order routefinder 0.5.4 produces for this set (notes §1.4),
        // without the dotted `/x/:p.json` route (see `dotted_sorted_order`).
        let expected = [
            "/",
            "/foo",
            "/foo/bar",
            "/foo/bar/...",
            "/foo/:id",
            "/x/:p",
            "/foo/:id/...",
            "/foo/...",
            "/a/...",
            "/:a/bar",
            "/:x/b/c",
            "/...",
        ];
        // Declared in a scrambled order; ties keep declaration order, so
        // `/foo/:id` before `/x/:p` and `/foo/...` before `/a/...`.
        let declared = [
            "/...",
            "/:x/b/c",
            "/foo/:id",
            "/foo/...",
            "/foo/bar/...",
            "/",
            "/x/:p",
            "/a/...",
            "/foo/:id/...",
            "/:a/bar",
            "/foo/bar",
            "/foo",
        ];
        let router = build_self_named(&declared);
        let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn ties_keep_declaration_order() {
        let router = build_self_named(&["/x/:p", "/foo/:id"]);
        let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
        assert_eq!(order, ["/x/:p", "/foo/:id"]);
    }

    #[test]
    fn precedence_table() {
        let router = build_self_named(&[
            "/...",
            "/one",
            "/one/...",
            "/one/two/three/...",
            "/foo/...",
            "/foo/:id",
            "/foo/bar",
            "/:a/bar",
            "/a/...",
            "/:x/b/c",
        ]);
        for (path, expected) in [
            ("/one", Some("/one")),
            ("/two", Some("/...")),
            ("/one/two", Some("/one/...")),
            ("/one/two/three", Some("/one/two/three/...")),
            ("/one/two/three/four", Some("/one/two/three/...")),
            ("/foo/baz", Some("/foo/:id")),
            ("/foo/baz/qux", Some("/foo/...")),
            ("/foo/bar", Some("/foo/bar")),
            ("/foo", Some("/foo/...")),
            ("/zzz/bar", Some("/:a/bar")),
            // Leftmost-segment lexicographic: `/a/...` beats `/:x/b/c`.
            ("/a/b/c", Some("/a/...")),
            ("/q/b/c", Some("/:x/b/c")),
            ("/", Some("/...")),
        ] {
            assert_eq!(matched_id(&router, path), expected, "path {path:?}");
        }
    }

    #[test]
    fn longest_wildcard_prefix_wins_regardless_of_order() {
        for routes in [
            ["/one/...", "/one/two/three/..."],
            ["/one/two/three/...", "/one/..."],
        ] {
            let router = build_self_named(&routes);
            assert_eq!(
                matched_id(&router, "/one/two/three/x"),
                Some("/one/two/three/...")
            );
            assert_eq!(matched_id(&router, "/one/two/x"), Some("/one/..."));
        }
    }

    #[test]
    fn root_route() {
        let router = build_self_named(&["/", "/..."]);
        let m = router.route("/").expect("root should match");
        assert_eq!(m.component_id, "/");
        assert_eq!(m.based_route, "");
        assert_eq!(m.raw_route, "/");
        assert_eq!(m.component_route, "/");
        assert_eq!(m.path_info, "");
        assert!(m.params.is_empty());
        assert_eq!(matched_id(&router, "///"), Some("/"));
        assert_eq!(matched_id(&router, ""), Some("/"));
        assert_eq!(matched_id(&router, "/x"), Some("/..."));

        let only_root = build_self_named(&["/"]);
        assert_eq!(matched_id(&only_root, "/"), Some("/"));
        assert_eq!(matched_id(&only_root, "/x"), None);
        assert_eq!(matched_id(&only_root, "/x/"), None);
    }

    #[test]
    fn catch_all_route() {
        let router = build_self_named(&["/..."]);
        for (path, info) in [
            ("/", "/"),
            ("", ""),
            ("/1/2/3", "/1/2/3"),
            ("/1/2/3/", "/1/2/3/"),
            ("/a//b", "/a//b"),
        ] {
            let m = router.route(path).expect("catch-all matches everything");
            assert_eq!(m.path_info, info, "path {path:?}");
            assert_eq!(m.based_route, "/...");
            assert_eq!(m.raw_route, "/...");
            assert_eq!(m.component_route, "");
        }
    }

    #[test]
    fn users_table() {
        // tests/integration.rs test_http_routing in Spin.
        let (router, _) = build(&[("users", "/users/:userid/...")]);
        for (path, expected) in [
            ("/users/42", Some(("42", ""))),
            ("/users/42/", Some(("42", "/"))),
            ("/users/42/hello/", Some(("42", "/hello/"))),
            ("/users/42/hello", Some(("42", "/hello"))),
            ("/users/42/a/b//", Some(("42", "/a/b/"))),
            ("/users", None),
            ("/users/", None),
            ("/usersx/42", None),
            ("/Users/42", None),
        ] {
            let got = router.route(path);
            match expected {
                None => assert!(got.is_none(), "path {path:?} should not match"),
                Some((id, info)) => {
                    let got = got.unwrap_or_else(|| panic!("path {path:?} should match"));
                    assert_eq!(
                        got.params,
                        vec![("userid".to_string(), id.to_string())],
                        "path {path:?}"
                    );
                    assert_eq!(got.path_info, info, "path {path:?}");
                    assert_eq!(got.based_route, "/users/:userid/...");
                    assert_eq!(got.component_route, "/users/:userid");
                }
            }
        }
    }

    #[test]
    fn headers_example_foo_userid() {
        let (router, _) = build(&[("c", "/foo/:userId/...")]);
        let m = router.route("/foo/42/bar").expect("should match");
        assert_eq!(
            m,
            RouteMatch {
                component_id: "c",
                raw_route: "/foo/:userId/...",
                based_route: "/foo/:userId/...",
                component_route: "/foo/:userId",
                path_info: "/bar".to_string(),
                params: vec![("userId".to_string(), "42".to_string())],
            }
        );
    }

    #[test]
    fn path_info_for_wildcards() {
        let router = build_self_named(&["/p/..."]);
        for (path, info) in [
            ("/p", ""),
            ("/p/", "/"),
            ("/p//", "/"),
            ("/p/a/b", "/a/b"),
            ("/p/a/b/", "/a/b/"),
            ("/p/a//", "/a/"),
            ("//p/a", "/a"),
            ("/p//a", "//a"),
            ("/p/a%20b", "/a%20b"),
        ] {
            let m = router
                .route(path)
                .unwrap_or_else(|| panic!("{path:?} should match"));
            assert_eq!(m.path_info, info, "path {path:?}");
        }
        assert_eq!(matched_id(&router, "/pxyz"), None);
        assert_eq!(matched_id(&router, "/pxyz/a"), None);
        assert_eq!(matched_id(&router, "/"), None);
    }

    #[test]
    fn exact_routes() {
        let (router, _) = build(&[("hello", "/hello"), ("nested", "foo/bar/")]);
        let m = router.route("/hello/").expect("trailing slash is ignored");
        assert_eq!(m.path_info, "");
        assert_eq!(m.based_route, "/hello");
        assert_eq!(m.component_route, "/hello");
        assert_eq!(m.raw_route, "/hello");
        assert_eq!(matched_id(&router, "//hello//"), Some("hello"));
        assert_eq!(matched_id(&router, "/hello"), Some("hello"));

        let m = router.route("/foo/bar").expect("should match");
        assert_eq!(m.component_id, "nested");
        assert_eq!(m.raw_route, "foo/bar/");
        assert_eq!(m.based_route, "/foo/bar");
        assert_eq!(m.component_route, "foo/bar/");

        for path in [
            "/hellox",
            "/hello.json",
            "/Hello",
            "/hello/x",
            "/foo",
            "/foo//bar",
            "/foo/bar/baz",
            "/",
            "/%68ello",
        ] {
            assert_eq!(matched_id(&router, path), None, "path {path:?}");
        }
    }

    #[test]
    fn params() {
        let (router, _) = build(&[
            ("two", "/a/:first/b/:second"),
            ("dup", "/d/:x/:x"),
            ("mid", "/m/:id/end"),
        ]);
        let m = router.route("/a/1/b/2").expect("should match");
        assert_eq!(
            m.params,
            vec![
                ("first".to_string(), "1".to_string()),
                ("second".to_string(), "2".to_string())
            ]
        );
        assert_eq!(m.path_info, "");
        let m = router.route("/d/1/2").expect("should match");
        assert_eq!(m.params, vec![("x".to_string(), "2".to_string())]);
        // Captures are raw (not percent-decoded).
        let m = router.route("/m/a%2Fb/end").expect("should match");
        assert_eq!(m.params, vec![("id".to_string(), "a%2Fb".to_string())]);
        // routefinder quirk: an empty capture between two slashes.
        let m = router.route("/m//end").expect("should match");
        assert_eq!(m.params, vec![("id".to_string(), String::new())]);
        assert_eq!(matched_id(&router, "/m/end"), None);
        assert_eq!(matched_id(&router, "/a/1/b"), None);
        assert_eq!(matched_id(&router, "/a/1/b/"), None);
    }

    #[test]
    fn empty_param_capture_before_wildcard() {
        let router = build_self_named(&["/foo/:id/..."]);
        let m = router.route("/foo//bar").expect("routefinder quirk");
        assert_eq!(m.params, vec![("id".to_string(), String::new())]);
        assert_eq!(m.path_info, "/bar");
    }

    #[test]
    fn star_wildcard_is_not_stripped_from_component_route() {
        let (router, _) = build(&[("c", "/foo/*")]);
        let m = router.route("/foo/a/b").expect("should match");
        assert_eq!(m.path_info, "/a/b");
        assert_eq!(m.based_route, "/foo/*");
        assert_eq!(m.component_route, "/foo/*");
        assert_eq!(
            router.route("/foo").map(|m| m.path_info),
            Some(String::new())
        );
    }

    #[test]
    fn not_found() {
        let (router, _) = build(&[("a", "/a"), ("b", "/b/..."), ("c", "/c/:id")]);
        for path in ["/", "/x", "/a/b", "/bb", "/c", "/c/", "/c/1/2", "/A"] {
            assert_eq!(matched_id(&router, path), None, "path {path:?}");
        }
        let (empty, warnings) = build(&[]);
        assert!(empty.is_empty());
        assert!(warnings.is_empty());
        assert_eq!(matched_id(&empty, "/"), None);
    }

    #[test]
    fn duplicates_later_wins_but_keeps_first_position() {
        let (router, warnings) = build(&[
            ("first", "/dup/..."),
            ("catch", "/..."),
            ("exact-a", "/x"),
            ("second", "/dup/..."),
            ("exact-b", "/x/"),
            ("third", "/dup/..."),
        ]);
        assert_eq!(
            warnings,
            vec![
                "The following component routes are duplicates and will never be used:",
                "  first: /dup/... (duplicate of second)",
                "  second: /dup/... (duplicate of third)",
            ]
        );
        assert_eq!(matched_id(&router, "/dup/1"), Some("third"));
        // `/x` and `/x/` are different raw strings: both kept, first wins.
        assert_eq!(router.len(), 4);
        assert_eq!(matched_id(&router, "/x"), Some("exact-a"));
        // Position of the first declaration is kept for tie-breaking.
        let (router, _) = build(&[("a", "/:p"), ("b", "/:q"), ("c", "/:p")]);
        assert_eq!(matched_id(&router, "/z"), Some("c"));
    }

    #[test]
    fn duplicate_root_is_shown_as_slash() {
        let (_, warnings) = build(&[("a", "/"), ("b", "/")]);
        assert_eq!(warnings[1], "  a: / (duplicate of b)");
    }

    #[test]
    fn well_known_warning() {
        for (route, warns) in [
            ("/.well-known/spin/custom", true),
            (".well-known/spin/...", true),
            ("/.well-known/spin", false),
            ("/.well-known/other", false),
        ] {
            let (_, warnings) = build(&[("c", route)]);
            assert_eq!(
                warnings.iter().any(|w| w.contains("/.well-known/spin/")),
                warns,
                "route {route:?}"
            );
        }
        let (_, warnings) = build(&[("c", "/.well-known/spin/x")]);
        assert_eq!(
            warnings,
            vec![
                "Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached"
            ]
        );
    }

    #[test]
    fn malformed_routes() {
        for (route, message) in [
            ("/foo/:", "params must be named"),
            (
                "/foo/*name",
                "since there can only be one wildcard, it doesn't need a name. replace `*name` with `*`",
            ),
            (
                "/a/*/b",
                "a wildcard (`*` or `...`) is only supported as the last segment of a route",
            ),
            (
                "/*/...",
                "a wildcard (`*` or `...`) is only supported as the last segment of a route",
            ),
            // The first parse error wins over the mid-route wildcard check.
            ("/*/:", "params must be named"),
            (
                "/*.json",
                "a wildcard (`*` or `...`) is only supported as the last segment of a route",
            ),
            (
                "/a.*/b",
                "a wildcard (`*` or `...`) is only supported as the last segment of a route",
            ),
            ("/x/:.json", "params must be named"),
            (
                "/x/*y.z",
                "since there can only be one wildcard, it doesn't need a name. replace `*y` with `*`",
            ),
        ] {
            let err = Router::build([("comp".to_string(), route.to_string())])
                .expect_err("route should be rejected");
            let based = normalise(route);
            assert_eq!(
                err.to_string(),
                format!("Error parsing route {based} associated with component comp: {message}"),
                "route {route:?}"
            );
        }
    }

    #[test]
    fn literal_oddities_are_accepted() {
        // Not wildcards: `*` or `...` inside a segment are literal text.
        let router = build_self_named(&["/a*b", "/x/...y", "/files/:name.json"]);
        assert_eq!(matched_id(&router, "/a*b"), Some("/a*b"));
        // routefinder glues the dots onto `x` and drops the `/` before them.
        assert_eq!(matched_id(&router, "/x...y"), Some("/x/...y"));
        assert_eq!(matched_id(&router, "/x/...y"), None);
        // The parameter stops at the `.`.
        let m = router.route("/files/report.json").expect("should match");
        assert_eq!(m.params, vec![("name".to_string(), "report".to_string())]);
    }

    #[test]
    fn dotted_parsing() {
        use Segment::{Dot, Exact, Param, Slash, Wildcard};
        let exact = |s: &str| Exact(s.to_string());
        let param = |s: &str| Param(s.to_string());
        // Checked against routefinder 0.5.4's `RouteSpec::segments`.
        for (spec, expected) in [
            (
                "/x/:p.json",
                vec![exact("x"), Slash, param("p"), Dot, exact("json")],
            ),
            ("/foo.json", vec![exact("foo."), exact("json")]),
            ("/a..b", vec![exact("a.."), exact("b")]),
            ("/x/.y", vec![exact("x."), exact("y")]),
            ("/x/...y", vec![exact("x..."), exact("y")]),
            ("x.", vec![exact("x.")]),
            (".x", vec![Dot, exact("x")]),
            ("./x", vec![Dot, Slash, exact("x")]),
            ("..", vec![Dot, Dot]),
            (":a.", vec![param("a"), Dot]),
            ("/:a.*", vec![param("a"), Dot, Wildcard]),
            ("/:a..:b", vec![param("a"), Dot, Dot, param("b")]),
            (
                "a.b/:c.d.:e/f.",
                vec![
                    exact("a."),
                    exact("b"),
                    Slash,
                    param("c"),
                    Dot,
                    exact("d."),
                    param("e"),
                    Slash,
                    exact("f."),
                ],
            ),
            (
                "/.well-known/spin/x",
                vec![
                    Dot,
                    exact("well-known"),
                    Slash,
                    exact("spin"),
                    Slash,
                    exact("x"),
                ],
            ),
            ("", vec![]),
        ] {
            assert_eq!(parse_segments(spec), Ok(expected), "spec {spec:?}");
        }
    }

    #[test]
    fn dotted_params() {
        type Params<'a> = Option<Vec<(&'a str, &'a str)>>;
        let table: &[(&str, &str, Params)] = &[
            (
                "/report/:id.json",
                "/report/7.json",
                Some(vec![("id", "7")]),
            ),
            (
                "/report/:id.json",
                "/report/7.json/",
                Some(vec![("id", "7")]),
            ),
            ("/report/:id.json", "/report/7", None),
            ("/report/:id.json", "/report/7.xml", None),
            // Captures up to the first `.`; no backtracking.
            ("/report/:id.json", "/report/a.b.json", None),
            ("/report/:id.json", "/report/a/b.json", None),
            ("/report/:id.json", "/report/.json", Some(vec![("id", "")])),
            ("/x/:p.json", "/x/1.json", Some(vec![("p", "1")])),
            (
                "/f/:base.:ext",
                "/f/a.b",
                Some(vec![("base", "a"), ("ext", "b")]),
            ),
            (
                "/f/:base.:ext",
                "/f/a.b.c",
                Some(vec![("base", "a"), ("ext", "b.c")]),
            ),
            ("/f/:base.:ext", "/f/a", None),
            ("/f/:name.tar.gz", "/f/a.tar.gz", Some(vec![("name", "a")])),
            ("/f/:name.tar.gz", "/f/a.tar", None),
            ("/:a.", "/q.", Some(vec![("a", "q")])),
            ("/:a.", "/q", None),
            ("/v/:a..:b", "/v/q..z", Some(vec![("a", "q"), ("b", "z")])),
            // A param not followed by `.` still takes the whole segment.
            ("/files/:name", "/files/a.b", Some(vec![("name", "a.b")])),
            (
                "/files/:name/raw",
                "/files/a.json/raw",
                Some(vec![("name", "a.json")]),
            ),
            // Percent-encoded dots are not dots.
            ("/r/:id.json", "/r/a%2Ejson", None),
        ];
        for (route, path, expected) in table {
            let router = build_self_named(&[route]);
            let got = router.route(path).map(|m| m.params);
            let expected = expected.as_ref().map(|ps| {
                ps.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, expected, "route {route:?} path {path:?}");
        }
    }

    #[test]
    fn dotted_param_with_wildcard() {
        let router = build_self_named(&["/dl/:name.*"]);
        let m = router.route("/dl/a.tar.gz").expect("should match");
        assert_eq!(m.params, vec![("name".to_string(), "a".to_string())]);
        assert_eq!(m.path_info, "/tar.gz");
        assert_eq!(matched_id(&router, "/dl/a"), None);
    }

    #[test]
    fn dotted_exact_segments() {
        for (route, path, matches) in [
            ("/index.html", "/index.html", true),
            ("/index.html", "/index.html/", true),
            ("/index.html", "/index", false),
            ("/index.html", "/index.htm", false),
            ("/index.html", "/indexxhtml", false),
            ("/index.html", "/index/html", false),
            ("/a..b", "/a..b", true),
            ("/a..b", "/a.b", false),
            ("/x.", "/x.", true),
            ("/x.", "/x", false),
            ("/.hidden", "/.hidden", true),
            ("/.hidden", "/hidden", false),
            ("/./x", "/./x", true),
            ("/./x", "/x", false),
            ("/x/.y", "/x.y", true),
            ("/x/.y", "/x/.y", false),
            ("/v1.2/api", "/v1.2/api", true),
            ("/v1.2/api", "/v1.2api", false),
            ("/foo.*", "/foo.bar", true),
            ("/foo.*", "/foo.", true),
            ("/foo.*", "/foo", false),
            ("/.well-known/spin/x", "/.well-known/spin/x", true),
        ] {
            let router = build_self_named(&[route]);
            assert_eq!(
                router.route(path).is_some(),
                matches,
                "route {route:?} path {path:?}"
            );
        }
    }

    #[test]
    fn precedence_with_dots() {
        // Orders and matches checked against routefinder 0.5.4.
        let declared = [
            "/files/...",
            "/files/:name",
            "/files/:name.json",
            "/files/:name.tar.gz",
            "/files/:base.:ext",
            "/files/index.html",
            "/files/:name/raw",
            "/:a.json",
            "/",
            "/...",
        ];
        let router = build_self_named(&declared);
        let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
        assert_eq!(
            order,
            [
                "/",
                "/files/index.html",
                "/files/:name.json",
                "/files/:name.tar.gz",
                "/files/:name/raw",
                "/files/:base.:ext",
                "/files/:name",
                "/files/...",
                // After `/` although it beats `/`: not transitive.
                "/:a.json",
                "/...",
            ]
        );
        for (path, expected) in [
            ("/files/report.json", "/files/:name.json"),
            ("/files/a.tar.gz", "/files/:name.tar.gz"),
            ("/files/a.b", "/files/:base.:ext"),
            ("/files/a.b.c", "/files/:base.:ext"),
            ("/files/index.html", "/files/index.html"),
            ("/files/index.json", "/files/:name.json"),
            ("/files/a", "/files/:name"),
            ("/files/a/raw", "/files/:name/raw"),
            ("/files/a.json/raw", "/files/:name/raw"),
            ("/files/.json", "/files/:name.json"),
            ("/files/a/b", "/files/..."),
            ("/x.json", "/:a.json"),
            ("/x.y", "/..."),
            ("/", "/"),
        ] {
            assert_eq!(matched_id(&router, path), Some(expected), "path {path:?}");
        }

        let router = build_self_named(&[
            "/api/:v.json",
            "/api/v1",
            "/api/:v",
            "/api/v1.json",
            "/api/:v/...",
        ]);
        let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
        assert_eq!(
            order,
            [
                "/api/v1",
                "/api/v1.json",
                "/api/:v.json",
                "/api/:v",
                "/api/:v/...",
            ]
        );
        for (path, expected) in [
            ("/api/v1", Some("/api/v1")),
            ("/api/v1.json", Some("/api/v1.json")),
            ("/api/v2.json", Some("/api/:v.json")),
            ("/api/v2", Some("/api/:v")),
            ("/api/v2/x", Some("/api/:v/...")),
            ("/api/v2.json/x", Some("/api/:v/...")),
        ] {
            assert_eq!(matched_id(&router, path), expected, "path {path:?}");
        }
    }

    #[test]
    fn non_transitive_precedence_follows_declaration() {
        // `/files/:n.json` beats `/` (more dots), `/` beats `/files/x`
        // (fewer segments), `/files/x` beats `/files/:n.json` (literal
        // before param): the declaration order decides, as in routefinder.
        for (declared, expected) in [
            (
                ["/", "/files/x", "/files/:n.json"],
                ["/files/:n.json", "/", "/files/x"],
            ),
            (
                ["/files/:n.json", "/files/x", "/"],
                ["/", "/files/x", "/files/:n.json"],
            ),
            (
                ["/files/x", "/files/:n.json", "/"],
                ["/", "/files/x", "/files/:n.json"],
            ),
        ] {
            let router = build_self_named(&declared);
            let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
            assert_eq!(order, expected, "declared {declared:?}");
        }
        // A dot against a literal: the later declaration goes first.
        for (declared, expected) in [
            (["/foo", "/.hidden"], ["/.hidden", "/foo"]),
            (["/.hidden", "/foo"], ["/foo", "/.hidden"]),
        ] {
            let router = build_self_named(&declared);
            let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
            assert_eq!(order, expected, "declared {declared:?}");
        }
        // A dot against a slash is a tie; more dots first.
        let router = build_self_named(&["/:a/b", "/:a", "/:a.json"]);
        let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
        assert_eq!(order, ["/:a.json", "/:a", "/:a/b"]);
    }

    #[test]
    fn dotted_sorted_order() {
        // 13 routes, so routefinder's map is more than one node deep; both
        // orders checked against routefinder 0.5.4 (the first is notes §1.4).
        for (declared, expected) in [
            (
                [
                    "/...",
                    "/",
                    "/foo",
                    "/foo/...",
                    "/foo/bar",
                    "/foo/:id",
                    "/foo/:id/...",
                    "/:a/bar",
                    "/a/...",
                    "/:x/b/c",
                    "/foo/bar/...",
                    "/x/:p.json",
                    "/x/:p",
                ],
                [
                    "/x/:p.json",
                    "/",
                    "/foo",
                    "/foo/bar",
                    "/foo/bar/...",
                    "/foo/:id",
                    "/x/:p",
                    "/foo/:id/...",
                    "/foo/...",
                    "/a/...",
                    "/:a/bar",
                    "/:x/b/c",
                    "/...",
                ],
            ),
            (
                [
                    "/...",
                    "/:x/b/c",
                    "/foo/:id",
                    "/foo/...",
                    "/foo/bar/...",
                    "/",
                    "/x/:p",
                    "/x/:p.json",
                    "/a/...",
                    "/foo/:id/...",
                    "/:a/bar",
                    "/foo/bar",
                    "/foo",
                ],
                [
                    "/foo",
                    "/foo/bar",
                    "/x/:p.json",
                    "/",
                    "/foo/bar/...",
                    "/foo/:id",
                    "/x/:p",
                    "/foo/:id/...",
                    "/foo/...",
                    "/a/...",
                    "/:a/bar",
                    "/:x/b/c",
                    "/...",
                ],
            ),
        ] {
            let router = build_self_named(&declared);
            let order: Vec<&str> = router.routes().map(|r| r.raw_route).collect();
            assert_eq!(order, expected, "declared {declared:?}");
        }
    }

    #[test]
    fn internal_double_slash_in_route_collapses() {
        let router = build_self_named(&["/foo//bar"]);
        assert_eq!(matched_id(&router, "/foo/bar"), Some("/foo//bar"));
        assert_eq!(matched_id(&router, "/foo//bar"), None);
    }

    #[test]
    fn route_listing() {
        let router = build_self_named(&["/", "/...", "/foo/...", "/bar", "/baz/*"]);
        let listed: Vec<(String, &str, bool)> = router
            .routes()
            .map(|r| (r.display(), r.path, r.is_wildcard))
            .collect();
        assert_eq!(
            listed,
            vec![
                (String::new(), "/", false),
                ("/bar".to_string(), "/bar", false),
                // Ties keep declaration order.
                ("/foo (wildcard)".to_string(), "/foo", true),
                ("/baz (wildcard)".to_string(), "/baz", true),
                (" (wildcard)".to_string(), "/", true),
            ]
        );
    }

    #[test]
    fn never_panics_on_odd_paths() {
        let router = build_self_named(&[
            "/",
            "/...",
            "/a/:b/...",
            "/c/:d",
            "/é/ü",
            "/e/:x.é",
            "/f/:é.:ü",
            "/.:p.",
            "/..",
        ]);
        for path in [
            "", "/", "//", "a", "é", "/é/ü", "/a/é/", "/c/%", "?", "/a/b?c", "\u{0}", ".", "..",
            "/./", "/e/é.é", "/e/.é", "/f/é.ü", "/f/é", "/f/.", "/.é.", "/é.", "/..",
        ] {
            let _ = router.route(path);
        }
        // Non-ASCII is split as written (routefinder mis-splits it).
        assert_eq!(matched_id(&router, "/é/ü"), Some("/é/ü"));
        let m = router.route("/f/é.ü").expect("should match");
        assert_eq!(
            m.params,
            vec![
                ("é".to_string(), "é".to_string()),
                ("ü".to_string(), "ü".to_string())
            ]
        );
    }
}
