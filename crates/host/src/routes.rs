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
//! * **Segments**: the route is split on `/`, empty pieces are ignored, and
//!   each piece is `*` (wildcard, only allowed last), `:name` (a parameter) or
//!   literal text.
//! * **Matching**: every leading and trailing `/` of the request path is
//!   trimmed first, so trailing slashes never matter. Literal segments are
//!   case-sensitive and compared on the raw (not percent-decoded) path. A
//!   parameter needs a non-empty remainder and captures up to the next `/`
//!   (which can be an empty capture for `//`). A trailing wildcard matches the
//!   prefix itself and everything below it.
//! * **Precedence**: routes are compared position by position on the segment
//!   kind (literal before parameter before wildcard); the first differing
//!   position decides, then fewer segments come first, then declaration
//!   order. The first route in that order that matches wins.
//! * **Duplicates**: two routes with the same raw string: the later
//!   declaration wins but keeps the position of the first, and a warning is
//!   produced. Raw strings that differ but normalise the same (`/foo` and
//!   `/foo/`) are both kept; the first declared wins.
//!
//! Deviation from Spin: `routefinder` also splits route segments on `.`
//! (so `/x/:p.json` is a parameter `p` followed by the literal `.json`). That
//! is not implemented here: a `.` is an ordinary character of a segment, so
//! `/x/:p.json` is a parameter named `p.json` capturing the whole segment, and
//! routes whose only difference is dot structure may be ordered differently.
//! Also, a `*` segment that is not the last segment is rejected when the
//! router is built (`routefinder` accepts it and then panics at match time).
//!
//! The router does not special-case `/.well-known/spin/`: the server answers
//! those paths before consulting the router. [`Router::build`] only warns
//! about routes declared there.

use std::collections::HashMap;

use anyhow::{Result, anyhow};

/// Paths under this prefix are handled by the runtime, never by components.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// The kind of a route segment, ordered by precedence (earlier = tried first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Exact,
    Param,
    Wildcard,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Exact(String),
    Param(String),
    Wildcard,
}

impl Segment {
    fn kind(&self) -> Kind {
        match self {
            Segment::Exact(_) => Kind::Exact,
            Segment::Param(_) => Kind::Param,
            Segment::Wildcard => Kind::Wildcard,
        }
    }
}

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
    kinds: Vec<Kind>,
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

        let mut entries = Vec::with_capacity(pending.len());
        for p in pending {
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
            let kinds = segments.iter().map(Segment::kind).collect();
            entries.push(Entry {
                component_id: p.component_id,
                raw_route: p.raw_route,
                based_route: p.based_route,
                component_route,
                prefix,
                is_wildcard,
                segments,
                kinds,
            });
        }

        if entries
            .iter()
            .any(|e| e.based_route.starts_with(WELL_KNOWN_PREFIX))
        {
            warnings.push(format!(
                "Routes under {WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached"
            ));
        }

        // Lexicographic on the kinds (a prefix sorts first, i.e. fewer
        // segments first); the sort is stable, so ties keep declaration order.
        entries.sort_by(|a, b| a.kinds.cmp(&b.kinds));

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

    let mut segments = Vec::new();
    for piece in spec.split('/').filter(|p| !p.is_empty()) {
        let segment = if piece == "*" {
            Segment::Wildcard
        } else if piece.starts_with('*') {
            return Err(format!(
                "since there can only be one wildcard, it doesn't need a name. replace `{piece}` with `*`"
            ));
        } else if piece == ":" {
            return Err("params must be named".to_string());
        } else if let Some(name) = piece.strip_prefix(':') {
            Segment::Param(name.to_string())
        } else {
            Segment::Exact(piece.to_string())
        };
        segments.push(segment);
    }

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
        if index > 0 {
            // The `/` separating this segment from the previous one. It may
            // only be absent when nothing is left and a wildcard follows
            // (`/foo/...` matching `/foo`).
            match rest.strip_prefix('/') {
                Some(after) => rest = after,
                None if rest.is_empty() && *segment == Segment::Wildcard => {}
                None => return None,
            }
        }
        match segment {
            Segment::Exact(text) => rest = rest.strip_prefix(text.as_str())?,
            Segment::Param(name) => {
                if rest.is_empty() {
                    return None;
                }
                let end = rest.find('/').unwrap_or(rest.len());
                let (value, after) = rest.split_at(end);
                captured.params.push((name.as_str(), value));
                rest = after;
            }
            Segment::Wildcard => {
                captured.wildcard = Some(rest);
                rest = "";
            }
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
        // without the dotted `/x/:p.json` route.
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
        assert_eq!(matched_id(&router, "/x/...y"), Some("/x/...y"));
        // Deviation (documented): no `.` splitting, the param takes the segment.
        let m = router.route("/files/report.json").expect("should match");
        assert_eq!(
            m.params,
            vec![("name.json".to_string(), "report.json".to_string())]
        );
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
        let router = build_self_named(&["/", "/...", "/a/:b/...", "/c/:d", "/é/ü"]);
        for path in [
            "", "/", "//", "a", "é", "/é/ü", "/a/é/", "/c/%", "?", "/a/b?c", "\u{0}",
        ] {
            let _ = router.route(path);
        }
        assert_eq!(matched_id(&router, "/é/ü"), Some("/é/ü"));
    }
}
