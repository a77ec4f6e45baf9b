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

/// The cookie name for this server.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookie {
        COOKIE_TLS
    } else {
        COOKIE
    }
}

/// The session cookie for a new session.
pub fn session_cookie(state: &AppState, id: &str, max_age: std::time::Duration) -> Cookie<'static> {
    Cookie::build(cookie_name(state), id.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookie)
        .max_age(CookieDuration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// A cookie that makes the browser forget the session.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(state, "", std::time::Duration::ZERO);
    c.make_removal();
    c
}

/// The session id presented by a request, if any.
pub fn presented_session(req: &HttpRequest, state: &AppState) -> Option<Zeroizing<String>> {
    req.cookie(cookie_name(state))
        .map(|c| Zeroizing::new(c.value().to_string()))
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
    let not_in = || {
        if state.sessions().is_empty() {
            ApiError::locked()
        } else {
            ApiError::unauthenticated()
        }
    };
    let id = presented_session(req, state).ok_or_else(not_in)?;
    // Bound first: `not_in` takes the sessions lock again.
    let touched = state.sessions().touch(&id, Instant::now());
    let info = touched.ok_or_else(not_in)?;
    if !is_safe(req.method()) {
        let presented = req
            .headers()
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
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

/// A state-changing request must come from this origin if the browser says where
/// it comes from (a second line of defence besides SameSite and the CSRF token,
/// and the only one for the passphrase forms).
fn origin_allowed(req: &ServiceRequest) -> bool {
    if is_safe(req.method()) {
        return true;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let info = req.connection_info();
    let expected = format!("{}://{}", info.scheme(), info.host());
    origin.as_bytes() == expected.as_bytes()
}

/// Middleware body: refuses cross-origin state changes and adds the security headers.
pub async fn guard_and_harden<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let path = req.path().to_owned();
    if !origin_allowed(&req) {
        let res = req.into_response(ApiError::csrf().error_response());
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
