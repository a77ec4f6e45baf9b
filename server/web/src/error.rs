//! API errors: a status code and a JSON body with a stable code and a message for
//! people. Internal details go to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use homepost_core::library::LibraryError;
use homepost_store::Error as StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`wrong_passphrase`, `csrf`, `not_found` ...).
    pub code: &'static str,
    /// What happened and what to do, in plain words.
    pub message: String,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 401: no valid session.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "your session has ended: unlock again with your passphrase",
        )
    }

    /// 401: the server holds no keys.
    pub fn locked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "locked",
            "Homepost is locked: unlock it with your passphrase",
        )
    }

    /// 403: the CSRF token is missing or wrong.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this request lacks a valid CSRF token: reload the app and try again",
        )
    }

    /// 421: the request names a host this server does not answer to.
    pub fn wrong_host() -> Self {
        Self::new(
            StatusCode::MISDIRECTED_REQUEST,
            "wrong_host",
            "this box does not answer to that name: open it by its own address \
(http://127.0.0.1:33411/ on the box itself), or let the operator add the name with --allow-host",
        )
    }

    /// 429 with a `Retry-After` header.
    pub fn throttled(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!("too many wrong passphrases: try again in {retry_after_secs} seconds"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 500; the detail is logged, not sent.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error happened; the server log says more",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
            },
        });
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadTag(_) => ApiError::bad_request("invalid_tag", e.to_string()),
            StoreError::TagExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            StoreError::NoSuchTag(_) | StoreError::NotFound(_) => {
                ApiError::not_found(e.to_string())
            }
            StoreError::NameTaken(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            StoreError::BadOrder(_) => ApiError::bad_request("bad_request", e.to_string()),
            StoreError::DiskFull => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", e.to_string())
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<homepost_core::rules::RulesError> for ApiError {
    fn from(e: homepost_core::rules::RulesError) -> Self {
        use homepost_core::rules::RulesError;
        match e {
            RulesError::BadQuery(_) => ApiError::bad_request("bad_query", e.to_string()),
            RulesError::BadName => ApiError::bad_request("bad_name", e.to_string()),
            RulesError::NoActions => ApiError::bad_request("no_actions", e.to_string()),
            RulesError::BadActions(_) => ApiError::bad_request("invalid_tag", e.to_string()),
            RulesError::BadSieve(_) => ApiError::bad_request("bad_sieve", e.to_string()),
            RulesError::TooMany => ApiError::new(StatusCode::CONFLICT, "too_many", e.to_string()),
            RulesError::Busy => ApiError::new(StatusCode::CONFLICT, "busy", e.to_string()),
            RulesError::Locked => ApiError::locked(),
            RulesError::Library(l) => l.into(),
        }
    }
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        use homepost_search::Error as IndexError;
        match e {
            LibraryError::Store(s) => s.into(),
            LibraryError::NoSuchMessage(_) => ApiError::not_found(e.to_string()),
            LibraryError::TooMany(..) => ApiError::bad_request("bad_request", e.to_string()),
            LibraryError::Index(IndexError::Query(q)) => {
                ApiError::bad_request("invalid_query", q.to_string())
            }
            LibraryError::Index(IndexError::DiskFull) => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", e.to_string())
            }
            LibraryError::Index(IndexError::Busy) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "another Homepost process (an import?) is writing the search index: try again when it has finished",
            ),
            other => ApiError::internal(&other),
        }
    }
}

impl From<homepost_core::outgoing::SendError> for ApiError {
    fn from(e: homepost_core::outgoing::SendError) -> Self {
        use homepost_core::outgoing::SendError;
        match e {
            SendError::NoSuchDraft(_) => ApiError::not_found(e.to_string()),
            SendError::Unsendable(_) | SendError::NoKey(_) => {
                ApiError::bad_request("bad_request", e.to_string())
            }
            SendError::Store(s) => s.into(),
            SendError::Library(l) => l.into(),
            SendError::Pgp(p) => ApiError::internal(&p),
        }
    }
}

impl From<homepost_core::reading::ReadError> for ApiError {
    fn from(e: homepost_core::reading::ReadError) -> Self {
        use homepost_core::reading::ReadError;
        match e {
            ReadError::Store(s) => s.into(),
            ReadError::Unreadable(_) => ApiError::internal(&e),
        }
    }
}

impl From<homepost_core::outgoing::AttachError> for ApiError {
    fn from(e: homepost_core::outgoing::AttachError) -> Self {
        use homepost_core::outgoing::AttachError;
        match e {
            AttachError::TooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                e.to_string(),
            ),
            AttachError::NoSuchDraft(_) => ApiError::not_found(e.to_string()),
            AttachError::Store(s) => s.into(),
        }
    }
}

/// Turns JSON and query-string extraction failures into API errors.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
            .into()
        }
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "send the request body as application/json",
        )
        .into(),
        other => ApiError::bad_request(
            "bad_request",
            format!("the request body is not valid: {other}"),
        )
        .into(),
    }
}

/// Turns query-string extraction failures into API errors.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("bad_request", format!("invalid query string: {err}")).into()
}

/// Turns path extraction failures into API errors.
pub fn path_error(
    err: actix_web::error::PathError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("bad_request", format!("invalid path: {err}")).into()
}
