//! Which API a client speaks. The path decides; headers (and Gemini's `?key=`) only
//! where the path is shared by several APIs (`/v1/models`) or unknown.

use http::{HeaderMap, Method};

use super::translate::Shape;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFormat {
    Anthropic,
    OpenAi,
    Gemini,
}

impl ApiFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFormat::Anthropic => "anthropic",
            ApiFormat::OpenAi => "openai",
            ApiFormat::Gemini => "gemini",
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
    /// `GET /v1/models/{model}` (OpenAI, Anthropic) or `/v1beta/models/{model}` (Gemini).
    ModelInfo,
    /// Gemini: `POST /v1beta/models/{model}:generateContent` (and under `/v1/`).
    GeminiGenerate,
    /// Gemini: `:streamGenerateContent`, SSE with `?alt=sse`, else a JSON array.
    GeminiStream,
    /// Gemini: `:countTokens`.
    GeminiCountTokens,
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
            (&Method::GET, "/v1/models" | "/v1beta/models") => Endpoint::Models,
            (&Method::POST, p) if gemini_call(p).is_some() => match gemini_call(p) {
                Some((_, _, "generateContent")) => Endpoint::GeminiGenerate,
                Some((_, _, "streamGenerateContent")) => Endpoint::GeminiStream,
                Some((_, _, "countTokens")) => Endpoint::GeminiCountTokens,
                _ => Endpoint::Unknown,
            },
            (&Method::GET, p) if model_info(p).is_some() => Endpoint::ModelInfo,
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
            Endpoint::GeminiGenerate | Endpoint::GeminiStream | Endpoint::GeminiCountTokens => {
                Shape::Gemini
            }
            _ => Shape::Messages,
        }
    }

    /// Endpoints only an upstream of the client's own API serves (the body passes
    /// through unconverted).
    pub fn same_api_only(self) -> bool {
        matches!(
            self,
            Endpoint::CountTokens
                | Endpoint::ResponsesInputTokens
                | Endpoint::ResponsesCompact
                | Endpoint::GeminiCountTokens
        )
    }

    /// Counts tokens rather than generating (needs only read permission).
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Endpoint::CountTokens | Endpoint::ResponsesInputTokens | Endpoint::GeminiCountTokens
        )
    }
}

/// A Gemini method call, `/{v1beta|v1}/models/{model}:{method}`: (version, model,
/// method). The model is percent-decoded; a doubled `models/` prefix is tolerated.
pub fn gemini_call(path: &str) -> Option<(&str, String, &str)> {
    let rest = path.strip_prefix('/')?;
    let (version, rest) = rest.split_once('/')?;
    if version != "v1beta" && version != "v1" {
        return None;
    }
    let rest = rest.strip_prefix("models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    let model = percent_decode(model.strip_prefix("models/").unwrap_or(model))?;
    (!model.is_empty() && !model.contains('/')).then_some((version, model, method))
}

/// `GET /v1/models/{model}` or `/v1beta/models/{model}`: the model.
pub fn model_info(path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    let rest = path
        .strip_prefix("/v1/models/")
        .or_else(|| path.strip_prefix("/v1beta/models/"))?;
    let model = percent_decode(rest.strip_prefix("models/").unwrap_or(rest))?;
    (!model.is_empty() && !model.contains('/') && !model.contains(':')).then_some(model)
}

/// `%XX` escapes decoded; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Gemini's `?key=` query parameter, when present and not empty.
pub fn query_key(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .filter(|k| !k.is_empty())
}

/// The query without its `key=` parameter (a gateway key is never forwarded).
pub fn without_key(query: Option<&str>) -> Option<String> {
    let q = query?;
    if !q.split('&').any(|kv| kv.starts_with("key=")) {
        return Some(q.to_string());
    }
    let kept: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.starts_with("key=") && !kv.is_empty())
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// Whether a Gemini stream was asked for as SSE (`alt=sse`) rather than a JSON array.
pub fn wants_sse(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"))
}

/// The client's API, for answering in its shape.
pub fn detect(path: &str, query: Option<&str>, headers: &HeaderMap) -> ApiFormat {
    if path.starts_with("/v1/messages") {
        return ApiFormat::Anthropic;
    }
    if path.starts_with("/v1beta/") || path == "/v1beta" || gemini_call(path).is_some() {
        return ApiFormat::Gemini;
    }
    if path.starts_with("/v1/chat/")
        || path.starts_with("/v1/completions")
        || path.starts_with("/v1/responses")
    {
        return ApiFormat::OpenAi;
    }
    // Shared or unknown paths: the Anthropic SDK always sends `anthropic-version`;
    // Google's SDKs send their key in `x-goog-api-key` or `?key=`, and
    // `x-goog-api-client`.
    if headers.contains_key("anthropic-version") {
        ApiFormat::Anthropic
    } else if headers.contains_key(crate::upstream::GOOG_API_KEY)
        || headers.contains_key("x-goog-api-client")
        || query_key(query).is_some()
    {
        ApiFormat::Gemini
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
        assert_eq!(detect("/v1/messages", None, &h), ApiFormat::Anthropic);
        assert_eq!(detect("/v1/chat/completions", None, &h), ApiFormat::OpenAi);
        assert_eq!(detect("/v1/models", None, &h), ApiFormat::OpenAi);
        assert_eq!(detect("/v1/models", Some("key=k"), &h), ApiFormat::Gemini);
        assert_eq!(detect("/v1beta/models", None, &h), ApiFormat::Gemini);
        assert_eq!(
            detect("/v1/models/gemini-2.5-pro:generateContent", None, &h),
            ApiFormat::Gemini
        );
        h.insert("anthropic-version", "2023-06-01".parse().unwrap());
        assert_eq!(detect("/v1/models", None, &h), ApiFormat::Anthropic);
        assert_eq!(detect("/v1/chat/completions", None, &h), ApiFormat::OpenAi);
    }

    #[test]
    fn gemini_paths() {
        let post = |p| Endpoint::classify(&Method::POST, p);
        assert_eq!(
            post("/v1beta/models/gemini-2.5-flash:generateContent"),
            Endpoint::GeminiGenerate
        );
        assert_eq!(
            post("/v1/models/gemini-2.5-flash:streamGenerateContent"),
            Endpoint::GeminiStream
        );
        assert_eq!(
            post("/v1beta/models/g:countTokens"),
            Endpoint::GeminiCountTokens
        );
        assert_eq!(post("/v1beta/models/g:embedContent"), Endpoint::Unknown);
        assert_eq!(post("/v2/models/g:generateContent"), Endpoint::Unknown);
        assert_eq!(
            gemini_call("/v1beta/models/models/gemini-x:generateContent"),
            Some(("v1beta", "gemini-x".to_string(), "generateContent"))
        );
        assert_eq!(
            gemini_call("/v1beta/models/my%20model:generateContent").map(|c| c.1),
            Some("my model".to_string())
        );
        assert_eq!(gemini_call("/v1beta/models/:generateContent"), None);
        assert_eq!(gemini_call("/v1beta/models/%zz:generateContent"), None);
        let get = |p| Endpoint::classify(&Method::GET, p);
        assert_eq!(get("/v1beta/models"), Endpoint::Models);
        assert_eq!(get("/v1beta/models/gemini-x"), Endpoint::ModelInfo);
        assert_eq!(get("/v1/models/gpt-4o"), Endpoint::ModelInfo);
        assert_eq!(
            model_info("/v1beta/models/models/gemini-x"),
            Some("gemini-x".into())
        );
    }

    #[test]
    fn the_key_parameter_never_travels_on() {
        assert_eq!(query_key(Some("alt=sse&key=lgw_1")), Some("lgw_1"));
        assert_eq!(query_key(Some("key=")), None);
        assert_eq!(
            without_key(Some("alt=sse&key=lgw_1")),
            Some("alt=sse".into())
        );
        assert_eq!(without_key(Some("key=lgw_1")), None);
        assert_eq!(without_key(Some("beta=true")), Some("beta=true".into()));
        assert!(wants_sse(Some("key=k&alt=sse")) && !wants_sse(Some("alt=json")));
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
