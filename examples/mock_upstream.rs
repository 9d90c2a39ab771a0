//! Strict mock upstreams on 127.0.0.1 for the SDK and Claude Code end-to-end tests (and
//! for trying the gateway without real accounts): Anthropic Messages, OpenAI Chat
//! Completions, OpenAI Responses and Gemini.
//!
//! ```text
//! cargo run --example mock_upstream -- --anthropic-key KEY_A --openai-key KEY_O --responses-key KEY_R --gemini-key KEY_G
//! ```
//! prints one JSON line `{"anthropic": "http://127.0.0.1:P", "openai": "http://127.0.0.1:Q/v1",
//! "responses": "http://127.0.0.1:R/v1", "gemini": "http://127.0.0.1:S"}` and serves until stdin closes. Steer it with `POST /__mock/behavior` and read what it
//! saw with `GET /__mock/requests` (see tests/common/mock.rs).

#[path = "../tests/common/mock.rs"]
mod mock;

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let ant = mock::Mock::start(
        mock::Flavor::Anthropic,
        &arg("--anthropic-key", "sk-ant-mock"),
    );
    let oai = mock::Mock::start(mock::Flavor::OpenAi, &arg("--openai-key", "sk-openai-mock"));
    let resp = mock::Mock::start(
        mock::Flavor::Responses,
        &arg("--responses-key", "sk-responses-mock"),
    );
    let gem = mock::Mock::start(
        mock::Flavor::Gemini,
        &arg("--gemini-key", "gemini-mock-key"),
    );
    println!(
        "{}",
        serde_json::json!({"anthropic": ant.base_url(), "openai": oai.base_url(), "responses": resp.base_url(), "gemini": gem.base_url()})
    );
    // Serve until our parent closes stdin (or kills us).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
