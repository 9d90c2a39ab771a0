//! Request converters and validators: never panic on any JSON, and a request that passes
//! its own format's validator and converts, converts into a request the other format's
//! validator accepts. For OpenAI → Anthropic that is checked only in strict mode
//! (`LLM_GATEWAY_FUZZ_STRICT=1`) while the violations saved under
//! `fuzz/regressions/convert_request/strict-*` are open.
//!
//! Input: a JSON body, tried as an OpenAI chat request, an Anthropic Messages request, a
//! Responses request, a Gemini request and a legacy completions request. The upstream model is the body's `model` when it is a
//! non-blank string (as when a route passes the client's model through).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_gateway::convert::gemini;
use llm_gateway::convert::responses::{chat_to_responses_request, responses_to_chat_request};
use llm_gateway::convert::{
    RequestOptions, Value, anthropic_to_openai_request, completions_to_chat_request,
    merge_system_messages, openai_to_anthropic_request, validate_anthropic_request,
    validate_openai_request, validate_responses_request,
};
use llm_gateway_fuzz::strict;

fuzz_target!(|input: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("fuzz-model");
    let opts = RequestOptions {
        upstream_model: model.to_string(),
        ..Default::default()
    };

    let openai_ok = validate_openai_request(&body).is_ok();
    let anthropic_ok = validate_anthropic_request(&body).is_ok();
    let _ = merge_system_messages(&body);

    if let Ok(out) = openai_to_anthropic_request(&body, &opts)
        && openai_ok
        && strict()
        && let Err(e) = validate_anthropic_request(&out)
    {
        panic!("valid OpenAI request → invalid Anthropic request: {e}\nin: {body}\nout: {out}");
    }
    if let Ok(out) = anthropic_to_openai_request(&body, &opts)
        && anthropic_ok
        && let Err(e) = validate_openai_request(&out)
    {
        panic!("valid Anthropic request → invalid OpenAI request: {e}\nin: {body}\nout: {out}");
    }
    // Responses in and out: never a panic; a valid Responses request converts into a
    // Chat request the Chat validator accepts.
    let responses_ok = validate_responses_request(&body).is_ok();
    if let Ok(out) = responses_to_chat_request(&body, &opts)
        && responses_ok
        && let Err(e) = validate_openai_request(&out)
    {
        panic!("valid Responses request → invalid Chat request: {e}\nin: {body}\nout: {out}");
    }
    let _ = chat_to_responses_request(&body, &opts);
    // Gemini in and out: never a panic, whatever the body; a Gemini request that
    // converts goes on to every upstream format.
    let _ = gemini::chat_to_gemini_request(&body, &opts);
    let _ = gemini::schema::to_gemini_schema(&body);
    if let Ok((chat, _)) = gemini::gemini_to_chat_request(&body, model, true) {
        let _ = validate_openai_request(&chat);
        let _ = openai_to_anthropic_request(&chat, &opts);
        let _ = chat_to_responses_request(&chat, &opts);
        let _ = gemini::chat_to_gemini_request(&chat, &opts);
    }
    if let Ok(chat) = completions_to_chat_request(&body) {
        // The converted chat request goes on through the same converters.
        let _ = validate_openai_request(&chat);
        let _ = openai_to_anthropic_request(&chat, &opts);
    }
});
