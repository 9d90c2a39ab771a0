//! Response and error converters: never panic on any upstream body.
//!
//! Input: an upstream response body (usually JSON), converted both ways as a response,
//! each conversion fed to the other direction, and read as an error body under a few
//! statuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_gateway::convert::gemini;
use llm_gateway::convert::{
    Value, anthropic_to_openai_response, chat_to_completions_response, error_to_anthropic,
    error_to_openai, openai_to_anthropic_response,
};

const STATUSES: &[u16] = &[0, 200, 400, 401, 404, 429, 500, 503, 529, 599, 999];

fuzz_target!(|input: &[u8]| {
    let status = STATUSES[input.len() % STATUSES.len()];
    for (s, v) in [
        error_to_openai(status, input),
        error_to_anthropic(status, input),
    ] {
        assert!(s >= 400, "an error became status {s}");
        assert!(
            v.pointer("/error/message").is_some_and(Value::is_string),
            "error without a message: {v}"
        );
    }

    let Ok(body) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let _ = chat_to_completions_response(&body);
    if let Ok(openai) = anthropic_to_openai_response(&body, "client-model") {
        let _ = openai_to_anthropic_response(&openai, "client-model");
        let _ = chat_to_completions_response(&openai);
    }
    if let Ok(anthropic) = openai_to_anthropic_response(&body, "client-model") {
        let _ = anthropic_to_openai_response(&anthropic, "client-model");
    }
    // Gemini answers both ways: never a panic; a Gemini answer's Chat form converts on.
    let chat =
        gemini::gemini_to_chat_response(&body, &gemini::GeminiCtx::default(), "client-model");
    let _ = openai_to_anthropic_response(&chat, "client-model");
    let ctx = gemini::GeminiClientCtx {
        model: "client-model".into(),
    };
    let _ = gemini::chat_to_gemini_response(&body, &ctx);
});
