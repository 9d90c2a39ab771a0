//! `GET /ui`: the dashboard, one page compiled into the binary.
//!
//! The page is a static shell with no data in it, so it is served without a key; what
//! it shows comes from the `/admin/…` JSON endpoints, which take an admin gateway key
//! (the page asks for it once and keeps it in the tab's session storage). The policy
//! below lets the page load only its own script, style and icon, and talk only to this
//! origin: no inline script, no CDN, nothing that works differently offline.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::body::GatewayBody;

/// One file of the page.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/ui",
        content_type: "text/html; charset=utf-8",
        body: include_str!("ui/index.html"),
    },
    Asset {
        path: "/ui/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("ui/app.js"),
    },
    Asset {
        path: "/ui/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("ui/app.css"),
    },
    Asset {
        path: "/ui/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("ui/icon.svg"),
    },
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// Whether `path` is one of the page's files (`/ui/` is the page too).
pub fn is_asset(path: &str) -> bool {
    find(path).is_some()
}

fn find(path: &str) -> Option<&'static Asset> {
    let path = match path {
        "/ui/" => "/ui",
        p => p,
    };
    ASSETS.iter().find(|a| a.path == path)
}

/// The file at `path`, or `None` when the page has no such file.
pub fn serve(path: &str, request_id: &str) -> Option<Response<GatewayBody>> {
    let asset = find(path)?;
    let mut resp = Response::new(GatewayBody::full(Bytes::from_static(asset.body.as_bytes())));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Small files on the same host: always revalidate, so an upgraded binary's page is
    // never mixed with an old script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    super::handler::set_request_id(h, request_id);
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_with_the_policy() {
        for a in ASSETS {
            let r = serve(a.path, "req_1").expect(a.path);
            assert_eq!(r.headers()[header::CONTENT_TYPE], a.content_type);
            assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], CSP);
            assert!(!a.body.is_empty(), "{} is empty", a.path);
        }
        assert!(serve("/ui/", "r").is_some());
        assert!(serve("/ui/secret", "r").is_none());
        assert!(serve("/ui/../admin/status", "r").is_none());
    }

    #[test]
    fn the_page_loads_nothing_inline_or_remote() {
        let html = find("/ui").map(|a| a.body).unwrap_or_default();
        // The policy forbids inline script and style; the page must not need them.
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains("<style"), "inline style");
        assert!(!html.contains(" style="), "inline style attribute");
        // Data is written as text, never parsed as HTML or run.
        let js = find("/ui/app.js").map(|a| a.body).unwrap_or_default();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!js.contains(sink), "app.js uses {sink}");
        }
        // Nothing is fetched from elsewhere (the SVG namespace is a name, not a fetch).
        for a in ASSETS {
            let body = a.body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !body.contains("http://") && !body.contains("https://") && !body.contains("//cdn"),
                "{} names a remote address",
                a.path
            );
        }
    }
}
