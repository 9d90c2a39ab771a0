//! Golden fixtures, one per direction (`tests/fixtures/gemini/`): a request as a client
//! sends it and what each upstream gets. `UPDATE_GOLDEN=1 cargo test golden` rewrites
//! the expected files after a deliberate change (review the diff).
//!
//! - A Gemini CLI turn (two parallel calls of one function with their signatures and
//!   results, `parametersJsonSchema` and Gemini-schema tools, thinking in snake_case,
//!   safety settings) → Chat and → Anthropic.
//! - A Claude Code turn (the Responses fixtures') and a Chat turn → Gemini.

use std::path::PathBuf;

use serde_json::Value;

use super::{chat_to_gemini_request, gemini_to_chat_request};
use crate::convert::{
    RequestOptions, anthropic_to_openai_request, openai_to_anthropic_request,
    validate_anthropic_request, validate_gemini_request, validate_openai_request,
};

fn fixture(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

fn read(dir: &str, name: &str) -> Value {
    let path = fixture(dir, name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Compare with the expected file (or write it with `UPDATE_GOLDEN=1`).
fn golden(name: &str, got: &Value) {
    let path = fixture("gemini", name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() || !path.exists() {
        let mut text = serde_json::to_string_pretty(got).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        return;
    }
    let want = read("gemini", name);
    assert_eq!(
        got,
        &want,
        "{name} differs; if the change is deliberate, rerun with UPDATE_GOLDEN=1 and review \
         the diff\ngot:\n{}",
        serde_json::to_string_pretty(got).unwrap_or_default()
    );
}

fn opts(model: &str, keep: bool) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        keep_reasoning: keep,
    }
}

#[test]
fn golden_gemini_client_to_chat_and_anthropic() {
    let req = read("gemini", "gemini_cli_turn.request.json");
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
    let req = read("responses", "claude_code_turn.request.json");
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
