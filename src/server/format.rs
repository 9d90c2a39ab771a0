//! Which API a client speaks. The path decides; headers only where the path is
//! shared by both APIs (`/v1/models`) or unknown.

use http::{HeaderMap, Method};

use super::translate::Shape;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFormat {
    Anthropic,
    OpenAi,
}

impl ApiFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFormat::Anthropic => "anthropic",
            ApiFormat::OpenAi => "openai",
        }
    }
}

/// What a request asks the gateway to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
    ChatCompletions,
    /// The legacy `/v1/completions` (prompt in, text out), served through chat.
    Completions,
    /// OpenAI Responses: `POST /v1/responses`.
    Responses,
    /// `POST /v1/responses/input_tokens`.
    ResponsesInputTokens,
    /// `POST /v1/responses/compact` (a Responses upstream only).
    ResponsesCompact,
    /// `GET /v1/responses`: the WebSocket mode (`websocket`).
    ResponsesSocket,
    Models,
    Health,
    /// `GET /metrics`: Prometheus exposition.
    Metrics,
    AdminStatus,
    AdminHealth,
    /// `GET /admin/usage`, `/admin/requests`, `/admin/timeseries`: the ledger for the
    /// dashboard (admin keys only).
    AdminLedger,
    /// `GET /ui` and its files: the dashboard page (no data in it; no key needed).
    Ui,
    Unknown,
}

impl Endpoint {
    pub fn classify(method: &Method, path: &str) -> Endpoint {
        let path = path.trim_end_matches('/');
        match (method, path) {
            (&Method::POST, "/v1/messages") => Endpoint::Messages,
            (&Method::POST, "/v1/messages/count_tokens") => Endpoint::CountTokens,
            (&Method::POST, "/v1/chat/completions") => Endpoint::ChatCompletions,
            (&Method::POST, "/v1/completions") => Endpoint::Completions,
            (&Method::POST, "/v1/responses") => Endpoint::Responses,
            (&Method::POST, "/v1/responses/input_tokens") => Endpoint::ResponsesInputTokens,
            (&Method::POST, "/v1/responses/compact") => Endpoint::ResponsesCompact,
            (&Method::GET, "/v1/responses") => Endpoint::ResponsesSocket,
            (&Method::GET, "/v1/models") => Endpoint::Models,
            (&Method::GET, "/health") => Endpoint::Health,
            (&Method::GET, "/metrics") => Endpoint::Metrics,
            (&Method::GET, "/admin/status") => Endpoint::AdminStatus,
            (&Method::GET, "/admin/health") => Endpoint::AdminHealth,
            (&Method::GET, "/admin/usage" | "/admin/requests" | "/admin/timeseries") => {
                Endpoint::AdminLedger
            }
            (&Method::GET, p) if super::ui::is_asset(p) => Endpoint::Ui,
            _ => Endpoint::Unknown,
        }
    }
}

impl Endpoint {
    /// The API shape of the request body this endpoint takes.
    pub fn client_shape(self) -> Shape {
        match self {
            Endpoint::ChatCompletions => Shape::Chat,
            Endpoint::Completions => Shape::Completions,
            Endpoint::Responses
            | Endpoint::ResponsesInputTokens
            | Endpoint::ResponsesCompact
            | Endpoint::ResponsesSocket => Shape::Responses,
            _ => Shape::Messages,
        }
    }

    /// Endpoints only an upstream of the client's own API serves (the body passes
    /// through unconverted).
    pub fn same_api_only(self) -> bool {
        matches!(
            self,
            Endpoint::CountTokens | Endpoint::ResponsesInputTokens | Endpoint::ResponsesCompact
        )
    }

    /// Counts tokens rather than generating (needs only read permission).
    pub fn is_count(self) -> bool {
        matches!(self, Endpoint::CountTokens | Endpoint::ResponsesInputTokens)
    }
}

/// The client's API, for answering in its shape.
pub fn detect(path: &str, headers: &HeaderMap) -> ApiFormat {
    if path.starts_with("/v1/messages") {
        return ApiFormat::Anthropic;
    }
    if path.starts_with("/v1/chat/")
        || path.starts_with("/v1/completions")
        || path.starts_with("/v1/responses")
    {
        return ApiFormat::OpenAi;
    }
    // Shared or unknown paths: the Anthropic SDK always sends `anthropic-version`.
    if headers.contains_key("anthropic-version") {
        ApiFormat::Anthropic
    } else {
        ApiFormat::OpenAi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_decides_then_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(detect("/v1/messages", &h), ApiFormat::Anthropic);
        assert_eq!(detect("/v1/chat/completions", &h), ApiFormat::OpenAi);
        assert_eq!(detect("/v1/models", &h), ApiFormat::OpenAi);
        h.insert("anthropic-version", "2023-06-01".parse().unwrap());
        assert_eq!(detect("/v1/models", &h), ApiFormat::Anthropic);
        assert_eq!(detect("/v1/chat/completions", &h), ApiFormat::OpenAi);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::classify(&Method::POST, "/v1/messages"),
            Endpoint::Messages
        );
        assert_eq!(
            Endpoint::classify(&Method::POST, "/v1/messages/"),
            Endpoint::Messages
        );
        assert_eq!(
            Endpoint::classify(&Method::GET, "/v1/messages"),
            Endpoint::Unknown
        );
        assert_eq!(
            Endpoint::classify(&Method::POST, "/v1/messages/count_tokens"),
            Endpoint::CountTokens
        );
    }
}
