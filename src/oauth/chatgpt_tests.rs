//! Unit tests of the ChatGPT backend shaping.

use super::*;

fn tokens() -> OAuthTokens {
    OAuthTokens {
        access_token: "eyJ.access.token".into(),
        account_id: Some("acct-123".into()),
        ..Default::default()
    }
}

fn body_of(s: &Shaped) -> Value {
    serde_json::from_slice(&s.body).unwrap()
}

#[test]
fn headers_are_codex_like() {
    let s = shape(
        br#"{"model":"gpt-5","input":"hi","prompt_cache_key":"conv-1"}"#,
        &tokens(),
    )
    .unwrap();
    let h = &s.headers;
    assert_eq!(h[AUTHORIZATION], "Bearer eyJ.access.token");
    assert!(h[AUTHORIZATION].is_sensitive());
    assert_eq!(h["chatgpt-account-id"], "acct-123");
    assert_eq!(h["originator"], "codex_cli_rs");
    assert_eq!(h["openai-beta"], "responses=experimental");
    assert_eq!(h[ACCEPT], "text/event-stream");
    assert_eq!(h["session_id"], "conv-1");
    assert_eq!(s.session_id, "conv-1");

    // The client's credentials never go upstream.
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, "Bearer lgw_client".parse().unwrap());
    h.insert("x-api-key", "lgw_client".parse().unwrap());
    h.insert("openai-organization", "org-x".parse().unwrap());
    let t = OAuthTokens {
        account_id: None,
        ..tokens()
    };
    apply_headers(&mut h, &t, None);
    assert_eq!(h[AUTHORIZATION], "Bearer eyJ.access.token");
    assert!(h.get("x-api-key").is_none() && h.get("openai-organization").is_none());
    assert!(h.get("chatgpt-account-id").is_none() && h.get("session_id").is_none());
}

#[test]
fn body_is_stored_false_streamed_and_trimmed() {
    let s = shape(
        br#"{"model":"gpt-5-codex","input":"hello","stream":false,"store":true,
            "max_output_tokens":100,"temperature":0.2,"top_p":0.9,"metadata":{"a":"b"},
            "previous_response_id":"resp_1","tools":[{"type":"function","name":"f"}],
            "reasoning":{"effort":"high"},"include":["file_search_call.results"]}"#,
        &tokens(),
    )
    .unwrap();
    assert!(!s.client_wants_stream);
    assert_eq!(
        s.dropped,
        [
            "max_output_tokens",
            "metadata",
            "previous_response_id",
            "temperature",
            "top_p"
        ]
    );
    let b = body_of(&s);
    assert_eq!(b["store"], false);
    assert_eq!(b["stream"], true);
    assert_eq!(b["model"], "gpt-5-codex");
    assert_eq!(b["reasoning"]["effort"], "high");
    assert_eq!(b["tools"][0]["name"], "f");
    assert_eq!(
        b["include"],
        json!(["file_search_call.results", "reasoning.encrypted_content"])
    );
    assert_eq!(
        b["input"],
        json!([{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}])
    );
    assert_eq!(b["instructions"], FALLBACK_INSTRUCTIONS);
    assert_eq!(b["prompt_cache_key"], s.session_id.as_str());
    for k in b.as_object().unwrap().keys() {
        assert!(KEPT_FIELDS.contains(&k.as_str()), "{k}");
    }
}

#[test]
fn system_items_become_instructions_and_ids_go() {
    let s = shape(
        br#"{"model":"m","instructions":"Be brief.","stream":true,"include":["reasoning.encrypted_content"],
            "input":[
              {"type":"message","role":"system","content":"Answer in French."},
              {"role":"system","content":[{"type":"input_text","text":"No emoji."}]},
              {"type":"message","role":"developer","content":"dev note"},
              {"type":"message","id":"msg_1","role":"user","content":[{"type":"input_text","text":"q"}]},
              {"type":"reasoning","id":"rs_1","encrypted_content":"xyz","summary":[]},
              {"type":"function_call","id":"fc_1","call_id":"c1","name":"f","arguments":"{}"},
              {"type":"function_call_output","call_id":"c1","output":"ok"},
              {"type":"item_reference","id":"msg_0"}
            ]}"#,
        &tokens(),
    )
    .unwrap();
    assert!(s.client_wants_stream);
    let b = body_of(&s);
    assert_eq!(
        b["instructions"],
        "Be brief.\n\nAnswer in French.\n\nNo emoji."
    );
    let input = b["input"].as_array().unwrap();
    assert_eq!(input.len(), 5);
    assert_eq!(input[0]["role"], "developer");
    assert!(input.iter().all(|i| i.get("id").is_none()));
    assert_eq!(input[2]["encrypted_content"], "xyz");
    assert_eq!(input[3]["call_id"], "c1");
    assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(s.dropped, ["input item_reference"]);
}

#[test]
fn session_id_is_stable_per_conversation() {
    let turn1 = br#"{"model":"m","instructions":"x","input":[{"role":"user","content":"first"}]}"#;
    let turn2 = br#"{"model":"m","instructions":"x","input":[{"role":"user","content":"first"},
        {"role":"assistant","content":"reply"},{"role":"user","content":"second"}]}"#;
    let other = br#"{"model":"m","instructions":"x","input":[{"role":"user","content":"else"}]}"#;
    let id = |b: &[u8]| shape(b, &tokens()).unwrap().session_id;
    assert_eq!(id(turn1), id(turn2));
    assert_ne!(id(turn1), id(other));
    assert_eq!(id(turn1).len(), 36);
}

#[test]
fn bad_bodies_are_refused() {
    assert!(matches!(
        shape(b"[1]", &tokens()),
        Err(ShapeError::NotAnObject)
    ));
    assert!(matches!(
        shape(b"not json", &tokens()),
        Err(ShapeError::NotAnObject)
    ));
    assert!(matches!(
        shape(br#"{"input":42}"#, &tokens()),
        Err(ShapeError::BadInput)
    ));
    let b = body_of(&shape(br#"{"model":"m"}"#, &tokens()).unwrap());
    assert_eq!(b["input"], json!([]));
}
