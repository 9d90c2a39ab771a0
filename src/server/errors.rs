//! Every error the gateway itself answers with, and the one place that turns it into
//! a status and a body in the caller's API format. Internal details go to the log.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::body::GatewayBody;
use super::format::ApiFormat;
use crate::limits::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    BadRequest(String),
    /// `GET /v1/responses` that is not a WebSocket upgrade the gateway can serve (no
    /// upgrade, HTTP/2, another WebSocket version): 426.
    #[error("{0}")]
    UpgradeRequired(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    ModelNotFound(String),
    #[error("request body is larger than the gateway's limit of {0} MiB")]
    TooLarge(u64),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
    /// Every upstream for the model is open or cooling: 529 for Anthropic clients,
    /// 503 for OpenAI clients, with `retry-after` when a time is known. When every one
    /// is only rate limited, it is a 429 (the client should wait, not worry).
    #[error("{message}")]
    NoCapacity {
        message: String,
        retry_after: Option<u64>,
        rate_limited: bool,
    },
    /// Over the key's `rpm` or `tpm`: 429 with `retry-after` (seconds until the window
    /// frees). Nothing was sent upstream.
    #[error("{message}")]
    KeyRateLimited {
        message: String,
        retry_after: u64,
        /// `tpm` rather than `rpm` (OpenAI's `type` says which).
        tokens: bool,
    },
    /// The key's budget for the period is spent: 429 with `x-should-retry: false`
    /// (the official SDKs then do not retry) and the format's quota error.
    #[error("{0}")]
    BudgetExceeded(String),
    /// The model is outside the key's allow-list: 403.
    #[error("{0}")]
    ModelNotAllowed(String),
}

impl From<Refusal> for GatewayError {
    fn from(r: Refusal) -> Self {
        let message = r.to_string();
        match r {
            Refusal::Rpm {
                retry_after_secs, ..
            } => GatewayError::KeyRateLimited {
                message,
                retry_after: retry_after_secs,
                tokens: false,
            },
            Refusal::Tpm {
                retry_after_secs, ..
            } => GatewayError::KeyRateLimited {
                message,
                retry_after: retry_after_secs,
                tokens: true,
            },
            Refusal::Budget { .. } => GatewayError::BudgetExceeded(message),
            Refusal::ModelNotAllowed { .. } => GatewayError::ModelNotAllowed(message),
        }
    }
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) | GatewayError::ModelNotAllowed(_) => StatusCode::FORBIDDEN,
            GatewayError::KeyRateLimited { .. } | GatewayError::BudgetExceeded(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::NotFound(_) | GatewayError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::NoCapacity { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Anthropic's `error.type` for this error.
    fn anthropic_type(&self) -> &'static str {
        match self {
            GatewayError::NoCapacity {
                rate_limited: true, ..
            } => "rate_limit_error",
            GatewayError::KeyRateLimited { .. } | GatewayError::BudgetExceeded(_) => {
                "rate_limit_error"
            }
            GatewayError::ModelNotAllowed(_) => "permission_error",
            GatewayError::BadRequest(_) | GatewayError::UpgradeRequired(_) => {
                "invalid_request_error"
            }
            GatewayError::Unauthorized(_) => "authentication_error",
            GatewayError::Forbidden(_) => "permission_error",
            GatewayError::NotFound(_) | GatewayError::ModelNotFound(_) => "not_found_error",
            GatewayError::TooLarge(_) => "request_too_large",
            GatewayError::Timeout(_) => "timeout_error",
            GatewayError::Unavailable(_) | GatewayError::NoCapacity { .. } => "overloaded_error",
            GatewayError::BadGateway(_) | GatewayError::Internal(_) => "api_error",
        }
    }

    /// OpenAI's `error.type` and `error.code` for this error.
    fn openai_type_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            GatewayError::NoCapacity {
                rate_limited: true, ..
            } => ("requests", Some("rate_limit_exceeded")),
            GatewayError::KeyRateLimited { tokens, .. } => (
                if *tokens { "tokens" } else { "requests" },
                Some("rate_limit_exceeded"),
            ),
            GatewayError::BudgetExceeded(_) => ("insufficient_quota", Some("insufficient_quota")),
            GatewayError::ModelNotAllowed(_) => ("permission_error", Some("permission_denied")),
            GatewayError::BadRequest(_) | GatewayError::UpgradeRequired(_) => {
                ("invalid_request_error", None)
            }
            GatewayError::Unauthorized(_) => ("invalid_request_error", Some("invalid_api_key")),
            GatewayError::Forbidden(_) => {
                ("invalid_request_error", Some("insufficient_permissions"))
            }
            GatewayError::NotFound(_) => ("invalid_request_error", Some("not_found")),
            GatewayError::ModelNotFound(_) => ("invalid_request_error", Some("model_not_found")),
            GatewayError::TooLarge(_) => ("invalid_request_error", Some("request_too_large")),
            GatewayError::Timeout(_) => ("server_error", Some("timeout")),
            GatewayError::Unavailable(_) | GatewayError::NoCapacity { .. } => {
                ("server_error", Some("service_unavailable"))
            }
            GatewayError::BadGateway(_) => ("server_error", Some("bad_gateway")),
            GatewayError::Internal(_) => ("server_error", None),
        }
    }

    /// Gemini's `error.status` (a `google.rpc.Code` name) for this error, for the
    /// Gemini client format: `{"error": {"code": <http status>, "message", "status"}}`.
    pub fn gemini_status(&self) -> &'static str {
        match self {
            GatewayError::KeyRateLimited { .. }
            | GatewayError::BudgetExceeded(_)
            | GatewayError::NoCapacity {
                rate_limited: true, ..
            } => "RESOURCE_EXHAUSTED",
            GatewayError::BadRequest(_) | GatewayError::UpgradeRequired(_) => "INVALID_ARGUMENT",
            GatewayError::TooLarge(_) => "INVALID_ARGUMENT",
            GatewayError::Unauthorized(_) => "UNAUTHENTICATED",
            GatewayError::Forbidden(_) | GatewayError::ModelNotAllowed(_) => "PERMISSION_DENIED",
            GatewayError::NotFound(_) | GatewayError::ModelNotFound(_) => "NOT_FOUND",
            GatewayError::Timeout(_) => "DEADLINE_EXCEEDED",
            GatewayError::Unavailable(_) | GatewayError::NoCapacity { .. } => "UNAVAILABLE",
            GatewayError::BadGateway(_) | GatewayError::Internal(_) => "INTERNAL",
        }
    }

    /// Headers the answer carries besides the body: `retry-after` when waiting helps,
    /// `x-should-retry: false` when it does not (a spent budget).
    fn extra_headers(&self) -> (Option<u64>, bool) {
        match self {
            GatewayError::NoCapacity { retry_after, .. } => (*retry_after, false),
            GatewayError::KeyRateLimited { retry_after, .. } => (Some(*retry_after), false),
            GatewayError::BudgetExceeded(_) => (None, true),
            _ => (None, false),
        }
    }

    /// The response a client of `format` gets for this error.
    /// The status sent to a client of `format` (which the access log and the usage
    /// row report): nothing-can-serve is 429 when every account is rate limited, else
    /// 529 for Anthropic clients and 503 for OpenAI ones.
    pub fn status_for(&self, format: ApiFormat) -> StatusCode {
        match self {
            GatewayError::NoCapacity {
                rate_limited: true, ..
            } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::NoCapacity { .. } if format == ApiFormat::Anthropic => {
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            _ => self.status(),
        }
    }

    /// A short name of the kind of error, for the usage ledger's `error_class`.
    pub fn class(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "bad_request",
            GatewayError::UpgradeRequired(_) => "upgrade_required",
            GatewayError::Unauthorized(_) => "unauthorized",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::ModelNotFound(_) => "model_not_found",
            GatewayError::TooLarge(_) => "too_large",
            GatewayError::BadGateway(_) => "bad_gateway",
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::Timeout(_) => "timeout",
            GatewayError::Internal(_) => "internal",
            GatewayError::NoCapacity {
                rate_limited: true, ..
            } => "rate_limited",
            GatewayError::NoCapacity { .. } => "no_capacity",
            GatewayError::KeyRateLimited { tokens: false, .. } => "refused_rpm",
            GatewayError::KeyRateLimited { tokens: true, .. } => "refused_tpm",
            GatewayError::BudgetExceeded(_) => "refused_budget",
            GatewayError::ModelNotAllowed(_) => "refused_model",
        }
    }

    pub fn into_response(self, format: ApiFormat, request_id: &str) -> Response<GatewayBody> {
        let message = self.to_string();
        let body = match format {
            ApiFormat::Anthropic => json!({
                "type": "error",
                "error": {"type": self.anthropic_type(), "message": message},
                "request_id": request_id,
            }),
            ApiFormat::OpenAi => {
                let (kind, code) = self.openai_type_code();
                json!({
                    "error": {"message": message, "type": kind, "param": null, "code": code},
                    "request_id": request_id,
                })
            }
            ApiFormat::Gemini => json!({
                "error": {
                    "code": self.status_for(format).as_u16(),
                    "message": message,
                    "status": self.gemini_status(),
                },
            }),
        };
        let status = self.status_for(format);
        let (retry, no_retry) = self.extra_headers();
        let mut resp = json_response(status, &body, request_id);
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if no_retry {
            resp.headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        resp
    }
}

/// A JSON response with the gateway's request id header.
pub fn json_response(
    status: StatusCode,
    body: &serde_json::Value,
    request_id: &str,
) -> Response<GatewayBody> {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut resp = Response::new(GatewayBody::full(bytes));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    super::handler::set_request_id(h, request_id);
    resp
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http_body_util::BodyExt;
    use serde_json::Value;

    use super::*;
    use crate::config::BudgetPeriod;
    use crate::util::Timestamp;

    /// Status, `retry-after`, `x-should-retry` and body of the answer in `format`.
    fn answer(e: GatewayError, format: ApiFormat) -> (u16, Option<String>, Option<String>, Value) {
        let resp = e.into_response(format, "req_1");
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (retry, should) = (h("retry-after"), h("x-should-retry"));
        let status = resp.status().as_u16();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        (
            status,
            retry,
            should,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    fn rpm() -> Refusal {
        Refusal::Rpm {
            key: "ci".into(),
            limit: 60,
            retry_after_secs: 12,
        }
    }

    fn budget() -> Refusal {
        Refusal::Budget {
            key: "ci".into(),
            budget_usd: 10.0,
            spent_usd: 10.25,
            period: BudgetPeriod::Month,
            resets_at: Timestamp(UNIX_EPOCH + Duration::from_secs(1_796_083_200)),
        }
    }

    #[test]
    fn rate_limits_are_429_with_retry_after() {
        let (s, retry, should, b) = answer(rpm().into(), ApiFormat::Anthropic);
        assert_eq!((s, retry.as_deref(), should), (429, Some("12"), None));
        assert_eq!(b["type"], "error");
        assert_eq!(b["error"]["type"], "rate_limit_error");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("60 requests per minute")
        );

        let (s, retry, _, b) = answer(rpm().into(), ApiFormat::OpenAi);
        assert_eq!((s, retry.as_deref()), (429, Some("12")));
        assert_eq!(b["error"]["type"], "requests");
        assert_eq!(b["error"]["code"], "rate_limit_exceeded");

        let tpm = Refusal::Tpm {
            key: "ci".into(),
            limit: 1000,
            used: 1500,
            retry_after_secs: 3,
        };
        let e = GatewayError::from(tpm);
        assert_eq!(e.gemini_status(), "RESOURCE_EXHAUSTED");
        let (s, retry, _, b) = answer(e, ApiFormat::OpenAi);
        assert_eq!((s, retry.as_deref()), (429, Some("3")));
        assert_eq!(b["error"]["type"], "tokens");
    }

    #[test]
    fn budget_is_429_that_must_not_be_retried() {
        let (s, retry, should, b) = answer(budget().into(), ApiFormat::OpenAi);
        assert_eq!((s, retry, should.as_deref()), (429, None, Some("false")));
        assert_eq!(b["error"]["type"], "insufficient_quota");
        assert_eq!(b["error"]["code"], "insufficient_quota");
        let msg = b["error"]["message"].as_str().unwrap();
        assert!(msg.contains("budget of $10.00 per month"), "{msg}");
        assert!(msg.contains("resets 2026-12-01T00:00:00Z"), "{msg}");

        let (s, _, should, b) = answer(budget().into(), ApiFormat::Gemini);
        assert_eq!((s, should.as_deref()), (429, Some("false")));
        assert_eq!(b["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(b["error"]["code"], 429);
        let (s, _, should, b) = answer(budget().into(), ApiFormat::Anthropic);
        assert_eq!((s, should.as_deref()), (429, Some("false")));
        assert_eq!(b["error"]["type"], "rate_limit_error");
        assert_eq!(b["request_id"], "req_1");
        assert_eq!(
            GatewayError::from(budget()).gemini_status(),
            "RESOURCE_EXHAUSTED"
        );
    }

    #[test]
    fn model_outside_the_list_is_403() {
        let r = Refusal::ModelNotAllowed {
            key: "ci".into(),
            model: "gpt-4o".into(),
            allowed: vec!["claude-*".into()],
        };
        let (s, retry, should, b) = answer(r.clone().into(), ApiFormat::Anthropic);
        assert_eq!((s, retry, should), (403, None, None));
        assert_eq!(b["error"]["type"], "permission_error");
        let (s, _, _, b) = answer(r.clone().into(), ApiFormat::OpenAi);
        assert_eq!(s, 403);
        assert_eq!(b["error"]["code"], "permission_denied");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"gpt-4o\"")
        );
        assert_eq!(GatewayError::from(r).gemini_status(), "PERMISSION_DENIED");
    }
}
