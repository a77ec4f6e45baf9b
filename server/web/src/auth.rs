//! The session cookie, the extractor that demands a session (and a CSRF token on
//! state-changing requests), and the headers every response carries.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, ResponseError};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::session::{SessionInfo, csrf_matches};
use crate::state::AppState;

/// The cookie over plain HTTP (loopback, onion).
pub const COOKIE: &str = "homepost_session";
/// The cookie over TLS: the `__Host-` prefix pins it to this host, path `/`, Secure.
pub const COOKIE_TLS: &str = "__Host-homepost_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The app's own policy: nothing inline, nothing remote.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'; object-src 'none'; manifest-src 'self'; worker-src 'self'";

/// For downloads and anything else that is not the app: no script, no loads at all.
pub const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// Which of the server's listeners a request came in on. Every listener's app
/// carries one (see [`crate::app`]); a request without it counts as remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The configured listen address (loopback, or the LAN with TLS).
    Direct,
    /// The PageKite relay's tunnel: a stranger on the internet, whatever the
    /// stream's loopback peer address says.
    Relay,
    /// The onion service: likewise from anywhere, over Tor.
    Onion,
}

/// The listener of `req`; `None` for an app built without one.
pub fn via(req: &HttpRequest) -> Option<Via> {
    req.app_data::<Via>().copied()
}

/// Whether the request came over TLS on this server's own listener (never what
/// a header claims).
pub fn is_tls(req: &HttpRequest) -> bool {
    req.app_config().secure()
}

/// Who a request is for the login throttle. Tunnelled requests all arrive from
/// loopback, so each tunnel counts as one client of its own (an address from
/// the discard-only prefix `100::/64`, RFC 6666, that no real peer has): a
/// stranger guessing over the relay or the onion never holds back the box's
/// own console, nor the other way round.
pub fn client(req: &HttpRequest) -> Option<std::net::IpAddr> {
    match via(req) {
        Some(Via::Direct) => req.peer_addr().map(|a| a.ip()),
        Some(Via::Relay) => Some(std::net::Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 1).into()),
        Some(Via::Onion) | None => Some(std::net::Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 2).into()),
    }
}

/// The session cookie's name on a listener with or without TLS.
pub fn cookie_name(tls: bool) -> &'static str {
    if tls { COOKIE_TLS } else { COOKIE }
}

/// A `Set-Cookie` value for an HttpOnly, SameSite=Strict cookie on `/` (Secure
/// over TLS), built in memory that is wiped afterwards.
fn set_cookie(
    tls: bool,
    name: &str,
    value: &str,
    max_age: std::time::Duration,
) -> Zeroizing<String> {
    let mut header = Zeroizing::new(String::with_capacity(name.len() + value.len() + 80));
    header.push_str(name);
    header.push('=');
    header.push_str(value);
    header.push_str("; HttpOnly; SameSite=Strict; Path=/");
    if tls {
        header.push_str("; Secure");
    }
    header.push_str("; Max-Age=");
    header.push_str(&max_age.as_secs().to_string());
    header
}

/// A `Set-Cookie` value for another HttpOnly, SameSite=Strict cookie of ours.
pub(crate) fn cookie_header(
    tls: bool,
    name: &str,
    value: &str,
    max_age: std::time::Duration,
) -> Zeroizing<String> {
    set_cookie(tls, name, value, max_age)
}

/// Adds a cookie to a response. The session id and the device token never pass
/// through actix's `Cookie` (a plain `String` copy); the header value itself is
/// the response's, as any body is.
pub fn add_cookie(res: &mut actix_web::HttpResponseBuilder, header: &Zeroizing<String>) {
    if let Ok(value) = HeaderValue::from_str(header) {
        res.append_header((header::SET_COOKIE, value));
    }
}

/// The session cookie for a new session.
pub fn session_cookie(tls: bool, id: &str, max_age: std::time::Duration) -> Zeroizing<String> {
    set_cookie(tls, cookie_name(tls), id, max_age)
}

fn device_cookie_name(tls: bool) -> &'static str {
    if tls {
        crate::device::COOKIE_TLS
    } else {
        crate::device::COOKIE
    }
}

/// The "known device" cookie (see [`crate::device`]).
pub fn device_cookie(tls: bool, value: &str) -> Zeroizing<String> {
    set_cookie(tls, device_cookie_name(tls), value, crate::device::LIFETIME)
}

/// Whether the request carries a valid "known device" cookie.
pub fn known_device(req: &HttpRequest, state: &AppState) -> bool {
    cookie_value(req, device_cookie_name(is_tls(req)))
        .is_some_and(|v| state.devices().verify(&v, std::time::SystemTime::now()))
}

/// A cookie that makes the browser forget the session.
pub fn removal_cookie(tls: bool) -> Cookie<'static> {
    let mut c = Cookie::build(cookie_name(tls), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .max_age(CookieDuration::ZERO)
        .finish();
    c.make_removal();
    c
}

/// The value of cookie `name` in the request's `Cookie` headers, copied once into
/// memory that is wiped when dropped (actix's parsed cookie jar is not used).
pub fn cookie_value(req: &HttpRequest, name: &str) -> Option<Zeroizing<String>> {
    // Pair by pair, not `to_str` on the whole header: one cookie with bytes beyond
    // ASCII (set by another app on this host) must not hide ours.
    req.headers()
        .get_all(header::COOKIE)
        .flat_map(|h| h.as_bytes().split(|&b| b == b';'))
        .find_map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| Zeroizing::new(v.trim_matches('"').to_owned()))
        })
}

/// The session id presented by a request, if any.
pub fn presented_session(req: &HttpRequest) -> Option<Zeroizing<String>> {
    cookie_value(req, cookie_name(is_tls(req)))
}

/// A request made within a live session (and, unless it is a GET or HEAD, with the
/// session's CSRF token).
pub struct Authed {
    /// The session id (to log out).
    pub id: Zeroizing<String>,
    /// The session.
    pub info: SessionInfo,
}

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authed, ApiError> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(|| ApiError::internal(&"application state missing"))?;
    // Without a live session the answer must not tell whether anyone else is
    // logged in: `locked` only to a browser whose own session Lock ended.
    let id = presented_session(req).ok_or_else(ApiError::unauthenticated)?;
    // Bound first: the sessions lock is taken again below.
    let touched = state.sessions().touch(&id, Instant::now());
    let info = touched.ok_or_else(|| {
        if state.sessions().ended_by_lock(&id) {
            ApiError::locked()
        } else {
            ApiError::unauthenticated()
        }
    })?;
    if !is_safe(req.method()) {
        let presented = req
            .headers()
            .get(CSRF_HEADER)
            .map(actix_web::http::header::HeaderValue::as_bytes)
            .unwrap_or_default();
        if !csrf_matches(presented, &info.csrf) {
            return Err(ApiError::csrf());
        }
    }
    Ok(Authed { id, info })
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The host a request names (`Host`, or the authority of an HTTP/2 request), as
/// the client wrote it, port included.
fn requested_host<'a>(headers: &'a HeaderMap, uri: &'a actix_web::http::Uri) -> Option<&'a str> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(actix_web::http::uri::Authority::as_str))
}

/// The host a request names, without its port: an address literal, or a name
/// (lowercase, without a trailing dot). `None` when there is none.
enum HostName {
    Ip(std::net::IpAddr),
    Name(String),
}

impl HostName {
    fn parse(host: &str) -> Option<HostName> {
        let name = strip_port(host);
        if let Ok(ip) = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            return Some(HostName::Ip(ip));
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        (!name.is_empty()).then_some(HostName::Name(name))
    }

    /// A loopback address, `localhost` or a name under `.localhost` (browsers
    /// resolve those to loopback themselves, RFC 6761).
    fn is_loopback(&self) -> bool {
        match self {
            HostName::Ip(ip) => ip.is_loopback(),
            HostName::Name(name) => name == "localhost" || name.ends_with(".localhost"),
        }
    }
}

/// A state-changing request must come from this origin if the browser says where
/// it comes from (a second line of defence besides SameSite and the CSRF token,
/// and the only one for the passphrase forms). The origin is compared with the
/// `Host` the request names, which [`host_allowed`] has checked, and the scheme
/// this server speaks (never `X-Forwarded-*` headers, which any client can send).
fn origin_allowed(req: &ServiceRequest, tls: bool) -> bool {
    if is_safe(req.method()) {
        return true;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = requested_host(req.headers(), req.uri()) else {
        return false;
    };
    let scheme = if tls { "https" } else { "http" };
    origin
        .as_bytes()
        .eq_ignore_ascii_case(format!("{scheme}://{host}").as_bytes())
}

/// Whether the server answers to the name a request gives in `Host` (DNS
/// rebinding: a page on `rebind.example`, whose name now resolves to this box,
/// would otherwise be same-origin with itself and reach the API).
///
/// Allowed: an IP address literal (a page can only name an address by its own
/// origin, so there is nothing to rebind) that is loopback, the listen address, or
/// any address when the server listens on all of them; `localhost` and names
/// under `.localhost` (browsers resolve them to loopback themselves, RFC 6761);
/// and the names the operator configured (`--allow-host`: the box's LAN or
/// mDNS name, its onion address, its relay name). The port is not compared: a
/// rebinding page can only use the port it names, which is ours.
pub fn host_allowed(host: Option<&str>, state: &AppState) -> bool {
    let Some(host) = host.and_then(HostName::parse) else {
        return false;
    };
    if host.is_loopback() {
        return true;
    }
    match host {
        HostName::Ip(ip) => state
            .listen_ip()
            .is_none_or(|l| l.is_unspecified() || l == ip),
        HostName::Name(name) => {
            state.allowed_hosts().contains(&name) || state.remote().serves(&name)
        }
    }
}

/// `name` of `name:port`, `[v6]` of `[v6]:port`; a bare IPv6 address stays whole.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // `[v6]` or `[v6]:port`; anything else after `]` is no host name.
        return match host.find(']') {
            Some(end) => {
                let rest = &host[end + 1..];
                let port_ok = rest.is_empty()
                    || rest
                        .strip_prefix(':')
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
                if port_ok { &host[..=end] } else { "" }
            }
            None => "",
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// Headers a proxy adds to say that it forwards someone else's request.
const FORWARDING_HEADERS: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
];

/// Whether a request comes from a browser on this machine itself: its peer is a
/// loopback address, it names the box by a loopback name (`127.0.0.1`, `[::1]`,
/// `localhost`), and no proxy says it forwards it. Only such requests may skip the
/// first-run setup code and the global login wait. A proxy or tunnel on the box
/// (a reverse proxy, `ssh -L`) must send `X-Forwarded-For` or a name of its own,
/// or its requests count as the box's own. The in-process tunnels (the relay
/// connector, the onion service) hand their streams to listeners of their own
/// on loopback, whose apps say [`Via::Relay`] or [`Via::Onion`]: a visitor
/// there chooses the `Host` header and the peer is always loopback, so only the
/// listener tells them apart.
pub fn is_local(req: &HttpRequest) -> bool {
    let direct = via(req) == Some(Via::Direct);
    let loopback_peer = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    let forwarded = FORWARDING_HEADERS
        .iter()
        .any(|h| req.headers().contains_key(*h));
    let loopback_name = requested_host(req.headers(), req.uri())
        .and_then(HostName::parse)
        .is_some_and(|h| h.is_loopback());
    direct && loopback_peer && !forwarded && loopback_name
}

/// Middleware body: refuses requests for other host names (421) and cross-origin
/// state changes (403), and adds the security headers.
pub async fn guard_and_harden<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let path = req.path().to_owned();
    let state = req.app_data::<Data<AppState>>().cloned();
    let refusal = match &state {
        None => Some(ApiError::internal(&"application state missing")),
        Some(state) if !host_allowed(requested_host(req.headers(), req.uri()), state) => {
            Some(ApiError::wrong_host())
        }
        Some(_) if !origin_allowed(&req, req.app_config().secure()) => Some(ApiError::csrf()),
        Some(_) => None,
    };
    if let Some(error) = refusal {
        let res = req.into_response(error.error_response());
        let mut res = res.map_into_right_body();
        harden(res.headers_mut(), &path);
        return Ok(res);
    }
    let mut res = next.call(req).await?.map_into_left_body();
    harden(res.headers_mut(), &path);
    Ok(res)
}

/// Adds the security headers a response lacks (a handler may set a stricter CSP).
fn harden(headers: &mut HeaderMap, path: &str) {
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, APP_CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if path.starts_with("/api/") {
        // Mail must not sit in the browser's disk cache.
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    headers.remove(header::SERVER);
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(via: Option<Via>, host: &str) -> HttpRequest {
        let r = TestRequest::default()
            .peer_addr("127.0.0.1:40000".parse().unwrap())
            .insert_header((header::HOST, host));
        match via {
            Some(via) => r.app_data(via),
            None => r,
        }
        .to_http_request()
    }

    /// Tunnels hand over streams from loopback with whatever `Host` the
    /// visitor chose: only the box's own listener can be local, and each
    /// tunnel is one throttle client apart from the box's own.
    #[test]
    fn only_the_direct_listener_is_local() {
        assert!(is_local(&request(Some(Via::Direct), "127.0.0.1:33411")));
        for via in [Some(Via::Relay), Some(Via::Onion), None] {
            let req = request(via, "127.0.0.1:33411");
            assert!(!is_local(&req), "{via:?}");
            let client = client(&req).unwrap();
            assert!(!client.is_loopback(), "{via:?}: {client}");
        }
        let relay = client(&request(Some(Via::Relay), "localhost")).unwrap();
        let onion = client(&request(Some(Via::Onion), "localhost")).unwrap();
        assert_ne!(relay, onion);
        assert_eq!(
            client(&request(Some(Via::Direct), "localhost")),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
