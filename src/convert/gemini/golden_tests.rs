//! Golden fixtures, one per direction (`tests/fixtures/gemini/`): a request as a client
//! sends it and what each upstream gets. `UPDATE_GOLDEN=1 cargo test golden` rewrites
//! the expected files after a deliberate change (review the diff).
//!
//! - A Gemini CLI turn (two parallel calls of one function with their signatures and
//!   results, `parametersJsonSchema` and Gemini-schema tools, thinking in snake_case,
//!   safety settings) → Chat and → Anthropic.
//! - A Claude Code turn (the Responses fixtures') and a Chat turn → Gemini.

use serde_json::Value;

use super::{chat_to_gemini_request, gemini_to_chat_request};
use crate::convert::test_util::{self, read_fixture};
use crate::convert::{
    RequestOptions, anthropic_to_openai_request, openai_to_anthropic_request,
    validate_anthropic_request, validate_gemini_request, validate_openai_request,
};

fn golden(name: &str, got: &Value) {
    test_util::golden("gemini", name, got)
}

fn opts(model: &str, keep: bool) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        keep_reasoning: keep,
    }
}

#[test]
fn golden_gemini_client_to_chat_and_anthropic() {
    let req = read_fixture("gemini", "gemini_cli_turn.request.json");
    validate_gemini_request(&req, "gemini-3-pro-preview").unwrap();
    let (mut chat, _) = gemini_to_chat_request(&req, "gemini-3-pro-preview", true).unwrap();
    chat["model"] = "gpt-4.1".into();
    chat.as_object_mut().map(|o| o.remove("top_k"));
    validate_openai_request(&chat).unwrap();
    golden("gemini_cli_turn.to_chat.json", &chat);
    let (via, _) = gemini_to_chat_request(&req, "gemini-3-pro-preview", true).unwrap();
    let ant = openai_to_anthropic_request(&via, &opts("claude-sonnet-4-5", true)).unwrap();
    validate_anthropic_request(&ant).unwrap();
    golden("gemini_cli_turn.to_anthropic.json", &ant);
}

#[test]
fn golden_anthropic_and_chat_clients_to_gemini() {
    let req = read_fixture("responses", "claude_code_turn.request.json");
    let model = "gemini-3-pro-preview";
    let chat = anthropic_to_openai_request(&req, &opts(model, true)).unwrap();
    let (g, _) = chat_to_gemini_request(&chat, &opts(model, false)).unwrap();
    validate_gemini_request(&g, model).unwrap();
    golden("claude_code_turn.to_gemini.json", &g);
    let plain = anthropic_to_openai_request(&req, &opts(model, false)).unwrap();
    let (g, _) = chat_to_gemini_request(&plain, &opts(model, false)).unwrap();
    validate_gemini_request(&g, model).unwrap();
    golden("chat_turn.to_gemini.json", &g);
}
