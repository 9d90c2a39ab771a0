//! Every error the gateway itself answers with, and the one place that turns it into
//! a status and a body in the caller's API format. Internal details go to the log.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::body::GatewayBody;
use super::format::ApiFormat;

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
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
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

    /// The response a client of `format` gets for this error.
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
                json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
            }
        };
        let mut status = self.status();
        let mut retry = None;
        if let GatewayError::NoCapacity {
            retry_after,
            rate_limited,
            ..
        } = &self
        {
            if *rate_limited {
                status = StatusCode::TOO_MANY_REQUESTS;
            } else if format == ApiFormat::Anthropic {
                status = StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            }
            retry = *retry_after;
        }
        let mut resp = json_response(status, &body, request_id);
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
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
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-gateway-request-id", v);
    }
    resp
}
