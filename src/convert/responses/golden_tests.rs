//! Golden fixtures, one per direction (`tests/fixtures/responses/`): a request as a
//! client sends it and what each upstream gets. `UPDATE_GOLDEN=1 cargo test golden`
//! rewrites the expected files after a deliberate change (review the diff).

use serde_json::Value;

use super::*;
use crate::convert::test_util::{self, read_fixture};
use crate::convert::{
    RequestOptions, anthropic_to_openai_request, openai_to_anthropic_request,
    validate_anthropic_request, validate_openai_request, validate_responses_request,
};

fn read(name: &str) -> Value {
    read_fixture("responses", name)
}

fn golden(name: &str, got: &Value) {
    test_util::golden("responses", name, got)
}

fn opts(model: &str, keep: bool) -> RequestOptions {
    RequestOptions {
        upstream_model: model.into(),
        keep_reasoning: keep,
    }
}

#[test]
fn golden_responses_client_to_chat_and_anthropic() {
    let req = read("codex_turn.request.json");
    let chat = responses_to_chat_request(&req, &opts("gpt-4.1", false)).unwrap();
    validate_openai_request(&chat).unwrap();
    golden("codex_turn.to_chat.json", &chat);
    let via = responses_to_chat_request(&req, &opts("claude-sonnet-4-5", true)).unwrap();
    let ant = openai_to_anthropic_request(&via, &opts("claude-sonnet-4-5", true)).unwrap();
    validate_anthropic_request(&ant).unwrap();
    golden("codex_turn.to_anthropic.json", &ant);
}

#[test]
fn golden_chat_and_anthropic_clients_to_responses() {
    let req = read("claude_code_turn.request.json");
    let chat = anthropic_to_openai_request(&req, &opts("gpt-5", true)).unwrap();
    let resp = chat_to_responses_request(&chat, &opts("gpt-5", false)).unwrap();
    validate_responses_request(&resp).unwrap();
    golden("claude_code_turn.to_responses.json", &resp);
    // The same turn from a Chat client (what the first step made of it, without the
    // reasoning extension a real client never sends).
    let plain = anthropic_to_openai_request(&req, &opts("gpt-5", false)).unwrap();
    let resp = chat_to_responses_request(&plain, &opts("gpt-5", false)).unwrap();
    validate_responses_request(&resp).unwrap();
    golden("chat_turn.to_responses.json", &resp);
}
