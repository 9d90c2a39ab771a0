//! Unit tests of the Responses stream collector.

use super::*;
use serde_json::json;

fn event(v: Value) -> String {
    format!(
        "event: {}\ndata: {}\n\n",
        v["type"].as_str().unwrap_or(""),
        v
    )
}

fn stream(completed_output: Value) -> String {
    let msg = json!({"type":"message","id":"msg_1","role":"assistant",
        "content":[{"type":"output_text","text":"Hello!"}]});
    let reasoning = json!({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"enc"});
    [
        event(json!({"type":"response.created","response":{"id":"resp_1","status":"in_progress","output":[]}})),
        event(json!({"type":"response.output_item.added","output_index":0,"item":reasoning})),
        event(json!({"type":"response.output_item.done","output_index":1,"item":msg})),
        event(json!({"type":"response.output_text.delta","output_index":1,"delta":"Hello!"})),
        event(json!({"type":"response.output_item.done","output_index":0,"item":reasoning})),
        event(json!({"type":"response.completed","response":{"id":"resp_1","status":"completed",
            "output":completed_output,"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}})),
    ]
    .concat()
}

#[test]
fn completed_response_with_its_output_wins() {
    let own = json!([{"type":"message","role":"assistant","content":[{"type":"output_text","text":"own"}]}]);
    let c = collect(stream(own.clone()).as_bytes()).unwrap();
    assert_eq!(c.terminal, Terminal::Completed);
    assert_eq!(c.response["output"], own);
    assert_eq!(c.response["usage"]["total_tokens"], 7);
}

#[test]
fn empty_output_is_filled_from_items_in_index_order() {
    let c = collect(stream(json!([])).as_bytes()).unwrap();
    let out = c.response["output"].as_array().unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["type"], "reasoning");
    assert_eq!(out[1]["content"][0]["text"], "Hello!");
}

#[test]
fn chunks_split_anywhere_and_crlf() {
    let s = stream(Value::Null).replace('\n', "\r\n");
    for size in [1, 3, 7, 64] {
        let mut c = Collector::new();
        for chunk in s.as_bytes().chunks(size) {
            c.push(chunk);
        }
        let r = c.finish().unwrap();
        assert_eq!(r.response["output"].as_array().unwrap().len(), 2, "{size}");
        assert_eq!(r.response["id"], "resp_1");
    }
}

#[test]
fn incomplete_failed_error_and_truncated() {
    let inc = event(
        json!({"type":"response.incomplete","response":{"id":"r","status":"incomplete",
        "incomplete_details":{"reason":"max_output_tokens"},"output":[]}}),
    );
    assert_eq!(
        collect(inc.as_bytes()).unwrap().terminal,
        Terminal::Incomplete
    );
    let failed = event(
        json!({"type":"response.failed","response":{"id":"r","status":"failed",
        "error":{"code":"server_error","message":"boom"}}}),
    );
    let c = collect(failed.as_bytes()).unwrap();
    assert_eq!(c.terminal, Terminal::Failed);
    assert_eq!(c.response["error"]["message"], "boom");
    let err = event(json!({"type":"error","code":"rate_limit_exceeded","message":"slow down"}));
    assert!(matches!(collect(err.as_bytes()), Err(CollectError::Upstream(m)) if m == "slow down"));
    let cut = event(json!({"type":"response.created","response":{"id":"r"}}));
    assert!(matches!(
        collect(cut.as_bytes()),
        Err(CollectError::Truncated)
    ));
    // A last event without its blank line still counts; `[DONE]` and junk are ignored.
    let tail = "data: [DONE]\n\ndata: nope\n\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"output\":[]}}";
    assert_eq!(collect(tail.as_bytes()).unwrap().response["id"], "r");
}
