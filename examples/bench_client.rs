//! The load generator for what `wrk` cannot measure, used by `scripts/bench.sh`:
//! per-request latency percentiles (also at 1 connection), stream time-to-first-byte,
//! and many concurrent open streams. 127.0.0.1 only, bounded in time.
//!
//! ```text
//! bench_client load    --url http://127.0.0.1:P/v1/messages --body FILE [-H 'k: v']...
//!                      [--conns 1] [--duration 5] [--warmup 1] [--rate R]
//!                      [--expect-tail S | --expect-event NAME | --expect-data S]
//! bench_client streams --url ... --body FILE [-H 'k: v']... [--n 1000]
//!                      [--connect-concurrency 100] [--timeout 60] [--rss-pid PID]
//!                      [--expect-tail S | --expect-event NAME | --expect-data S]
//! bench_client body    --format anthropic|openai|responses|gemini --model M [--stream]
//!                      [--size-kb N] > FILE
//! ```
//!
//! `load` runs closed-loop (each connection sends its next request when the previous
//! answer has been read) or, with `--rate R` (requests/s over all connections), open-loop
//! with latency measured from each request's scheduled time. Latency is from sending the
//! request to the last body byte; TTFB is to the first body byte. Both print one JSON
//! object on stdout. An answer counts as an error when its status is not 2xx, the
//! connection fails, or (with `--expect-tail`) the body does not end with that text
//! (e.g. `message_stop` or `[DONE]`) in its last 64 bytes, or (with `--expect-event`)
//! its last SSE `event:` line does not name that event, or (with `--expect-data`) its
//! last SSE `data:` line does not contain that text. `--expect-event` is for the
//! Responses API, whose last event, `response.completed`, carries the whole response:
//! its name is far from the end of the body. `--expect-data` is for Gemini, whose
//! streams have no end marker: the last chunk must carry `finishReason`. The answer's frames are kept (reference-counted, not
//! copied) and scanned after the answer's time has been taken.
//!
//! `streams` opens `--n` connections (at most `--connect-concurrency` connecting at a
//! time), sends one request on each, waits for every first body byte, then reads
//! `/proc/PID/status` of `--rss-pid` while they are all held open, and reads every
//! stream to its end.
//!
//! `body` writes a realistic request body: a system prompt, a short conversation and,
//! with `--size-kb`, enough earlier turns (file contents, tool calls and results, as
//! Claude Code sends) to reach that size. `--format responses` writes the same content
//! as a Responses request, as Codex sends one: `instructions`, `input` items (user and
//! assistant `message`s, `function_call`, `function_call_output`), one `function` tool
//! (`Read`, the tool the earlier turns call), `store: false` and `prompt_cache_key`.
//! `--format gemini` writes it as a Gemini `generateContent` request, as Gemini CLI
//! sends one: `contents` (`user` and `model` turns with `text`, `functionCall` and
//! `functionResponse` parts), `systemInstruction`, one `functionDeclarations` tool
//! (`Read`) and `generationConfig`. Gemini names the model and streaming in the URL
//! (`/v1beta/models/M:generateContent`, `/v1beta/models/M:streamGenerateContent?alt=sse`),
//! not in the body, so `--model` and `--stream` change nothing in a Gemini body; `load`
//! and `streams` POST to the `--url` they are given, model and all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Target {
    addr: String,
    host: HeaderValue,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    expect_tail: Option<String>,
    /// The name the last SSE `event:` line must carry.
    expect_event: Option<String>,
    /// A text the last SSE `data:` line must contain.
    expect_data: Option<String>,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::post(self.path.as_str())
            .body(Full::new(self.body.clone()))
            .expect("valid request");
        let h = req.headers_mut();
        h.insert(http::header::HOST, self.host.clone());
        for (k, v) in &self.headers {
            h.append(k.clone(), v.clone());
        }
        if !h.contains_key(http::header::CONTENT_TYPE) {
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        req
    }
}

/// One answer as the client saw it.
struct Sample {
    status: u16,
    /// Since the request was sent (or scheduled), to the first body byte.
    ttfb: Duration,
    /// To the last body byte.
    total: Duration,
    ok: bool,
}

#[derive(Default)]
struct Errors {
    connect: AtomicU64,
    io: AtomicU64,
    status: AtomicU64,
    tail: AtomicU64,
    timeout: AtomicU64,
}

impl Errors {
    fn json(&self) -> serde_json::Value {
        json!({
            "connect": self.connect.load(Ordering::Relaxed),
            "io": self.io.load(Ordering::Relaxed),
            "status": self.status.load(Ordering::Relaxed),
            "incomplete": self.tail.load(Ordering::Relaxed),
            "timeout": self.timeout.load(Ordering::Relaxed),
        })
    }
    fn total(&self) -> u64 {
        self.connect.load(Ordering::Relaxed)
            + self.io.load(Ordering::Relaxed)
            + self.status.load(Ordering::Relaxed)
            + self.tail.load(Ordering::Relaxed)
            + self.timeout.load(Ordering::Relaxed)
    }
}

async fn connect(t: &Target) -> Result<http1::SendRequest<Full<Bytes>>, BoxError> {
    let stream = TcpStream::connect(&t.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn tail_ok(tail: &[u8], expect: Option<&str>) -> bool {
    match expect {
        None => true,
        Some(e) => tail.windows(e.len().max(1)).any(|w| w == e.as_bytes()),
    }
}

/// The value of the last SSE `event:` field in an answer made of `frames`, if any.
fn last_event(frames: &[Bytes]) -> Option<Vec<u8>> {
    last_field(frames, b"event:", 128)
}

/// The value of the last SSE `data:` field in an answer made of `frames`, if any.
fn last_data(frames: &[Bytes]) -> Option<Vec<u8>> {
    last_field(frames, b"data:", 1 << 20)
}

/// The value of the last line starting with `prefix` (`event:`, `data:`) in an answer
/// made of `frames`, without one leading space and a trailing `\r`; lines longer than
/// `max` bytes are ignored. Lines may be split across frames; only the bytes of lines
/// that start with `prefix` are copied.
fn last_field(frames: &[Bytes], prefix: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut last = None;
    // The current line, while it may still be a `prefix` line of at most `max` bytes.
    let mut line: Vec<u8> = Vec::with_capacity(128);
    let mut skip = false;
    let mut end_line = |line: &mut Vec<u8>, skip: &mut bool| {
        if !*skip && let Some(rest) = line.strip_prefix(prefix) {
            let value = rest.strip_prefix(b" ").unwrap_or(rest);
            let value = value.strip_suffix(b"\r").unwrap_or(value);
            last = Some(value.to_vec());
        }
        line.clear();
        *skip = false;
    };
    for f in frames {
        let mut rest = &f[..];
        while !rest.is_empty() {
            let (part, done) = match rest.iter().position(|&c| c == b'\n') {
                Some(i) => (&rest[..i], Some(i + 1)),
                None => (rest, None),
            };
            if !skip {
                if line.len() + part.len() <= max {
                    line.extend_from_slice(part);
                    let n = line.len().min(prefix.len());
                    skip = line[..n] != prefix[..n];
                } else {
                    skip = true;
                }
            }
            match done {
                Some(i) => {
                    end_line(&mut line, &mut skip);
                    rest = &rest[i..];
                }
                None => rest = &[],
            }
        }
    }
    end_line(&mut line, &mut skip);
    last
}

/// Send one request on `sender` and read the whole answer. `t0` is when the request
/// counts as sent. `on_first` runs at the first body byte.
async fn one(
    t: &Target,
    sender: &mut http1::SendRequest<Full<Bytes>>,
    t0: Instant,
    mut on_first: impl FnMut(),
) -> Result<Sample, BoxError> {
    sender.ready().await?;
    let resp = sender.send_request(t.request()).await?;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut ttfb = None;
    let mut tail: Vec<u8> = Vec::with_capacity(64);
    let mut frames: Vec<Bytes> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Some(d) = frame.data_ref() {
            if t.expect_event.is_some() || t.expect_data.is_some() {
                frames.push(d.clone());
            }
            if d.is_empty() {
                continue;
            }
            if ttfb.is_none() {
                ttfb = Some(t0.elapsed());
                on_first();
            }
            if d.len() >= 64 {
                tail.clear();
                tail.extend_from_slice(&d[d.len() - 64..]);
            } else {
                tail.extend_from_slice(d);
                if tail.len() > 64 {
                    tail.drain(..tail.len() - 64);
                }
            }
        }
    }
    let total = t0.elapsed();
    let ok = (200..300).contains(&status)
        && tail_ok(&tail, t.expect_tail.as_deref())
        && t.expect_event
            .as_ref()
            .is_none_or(|e| last_event(&frames).is_some_and(|l| l == e.as_bytes()))
        && t.expect_data
            .as_deref()
            .is_none_or(|e| last_data(&frames).is_some_and(|l| tail_ok(&l, Some(e))));
    Ok(Sample {
        status,
        ttfb: ttfb.unwrap_or(total),
        total,
        ok,
    })
}

fn percentiles(mut v: Vec<u64>) -> serde_json::Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_unstable();
    let p = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)] as f64 / 1000.0
    };
    let mean = v.iter().sum::<u64>() as f64 / v.len() as f64 / 1000.0;
    json!({
        "p50_us": p(0.50), "p90_us": p(0.90), "p99_us": p(0.99), "p999_us": p(0.999),
        "min_us": v[0] as f64 / 1000.0, "max_us": v[v.len() - 1] as f64 / 1000.0,
        "mean_us": (mean * 10.0).round() / 10.0,
    })
}

struct LoadOpts {
    conns: usize,
    duration: Duration,
    warmup: Duration,
    rate: Option<f64>,
}

async fn load(t: Arc<Target>, o: LoadOpts) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let mut tasks = Vec::new();
    for c in 0..o.conns {
        let t = t.clone();
        let errors = errors.clone();
        let period = o.rate.map(|r| Duration::from_secs_f64(o.conns as f64 / r));
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<Sample> = Vec::new();
            let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
            let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
            // Spread open-loop connections over one period.
            let mut next = period.map(|p| start + p.mul_f64(c as f64 / o.conns as f64));
            loop {
                // Open loop: latency counts from the scheduled time when we are behind
                // schedule (no coordinated omission), else from when the timer woke us
                // (tokio timers are 1 ms coarse; that lateness is not the server's).
                let mut on_time = false;
                if let Some(n) = next {
                    if n >= end {
                        break;
                    }
                    if Instant::now() < n {
                        tokio::time::sleep_until(n.into()).await;
                        on_time = true;
                    }
                }
                let now = Instant::now();
                if now >= end {
                    break;
                }
                if sender.is_none() {
                    match tokio::time::timeout(Duration::from_secs(10), connect(&t)).await {
                        Ok(Ok(s)) => sender = Some(s),
                        _ => {
                            if now >= measure_from {
                                errors.connect.fetch_add(1, Ordering::Relaxed);
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    }
                }
                let Some(s) = sender.as_mut() else { continue };
                let t0 = match next {
                    Some(n) if !on_time => n,
                    _ => Instant::now(),
                };
                let r = tokio::time::timeout(Duration::from_secs(30), one(&t, s, t0, || {})).await;
                let counted = t0 >= measure_from;
                match r {
                    Ok(Ok(sample)) => {
                        if counted {
                            *statuses.entry(sample.status).or_default() += 1;
                            if !sample.ok {
                                if (200..300).contains(&sample.status) {
                                    errors.tail.fetch_add(1, Ordering::Relaxed);
                                } else {
                                    errors.status.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            samples.push(sample);
                        }
                    }
                    Ok(Err(_)) => {
                        if counted {
                            errors.io.fetch_add(1, Ordering::Relaxed);
                        }
                        sender = None;
                    }
                    Err(_) => {
                        if counted {
                            errors.timeout.fetch_add(1, Ordering::Relaxed);
                        }
                        sender = None;
                    }
                }
                if let (Some(n), Some(p)) = (next.as_mut(), period) {
                    *n += p;
                }
            }
            (samples, statuses)
        }));
    }
    let mut samples = Vec::new();
    let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
    for task in tasks {
        if let Ok((s, st)) = task.await {
            samples.extend(s);
            for (k, v) in st {
                *statuses.entry(k).or_default() += v;
            }
        }
    }
    let elapsed = o.duration.as_secs_f64();
    let ok: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
    json!({
        "mode": if o.rate.is_some() { "open-loop" } else { "closed-loop" },
        "conns": o.conns,
        "duration_s": elapsed,
        "target_rate": o.rate,
        "requests": samples.len(),
        "ok": ok.len(),
        "rps": (ok.len() as f64 / elapsed * 10.0).round() / 10.0,
        "errors": errors.json(),
        "error_total": errors.total(),
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "latency": percentiles(ok.iter().map(|s| s.total.as_nanos() as u64).collect()),
        "ttfb": percentiles(ok.iter().map(|s| s.ttfb.as_nanos() as u64).collect()),
    })
}

struct StreamsOpts {
    n: usize,
    connect_concurrency: usize,
    timeout: Duration,
    rss_pid: Option<u32>,
}

fn proc_status(pid: u32) -> serde_json::Value {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return json!(null);
    };
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .ok();
    json!({"vm_rss_kb": kb("VmRSS:"), "vm_hwm_kb": kb("VmHWM:"), "threads": kb("Threads:"), "fds": fds})
}

async fn streams(t: Arc<Target>, o: StreamsOpts) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let opened = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let failed_early = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(o.connect_concurrency.max(1)));
    let start = Instant::now();
    let deadline = start + o.timeout;
    let mut tasks = Vec::new();
    for _ in 0..o.n {
        let (t, errors, opened, finished, failed_early, gate) = (
            t.clone(),
            errors.clone(),
            opened.clone(),
            finished.clone(),
            failed_early.clone(),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut permit = Some(gate.acquire_owned().await.expect("semaphore open"));
            let mut first_seen = false;
            let work = async {
                let mut s = connect(&t).await.inspect_err(|_| {
                    errors.connect.fetch_add(1, Ordering::Relaxed);
                })?;
                let t0 = Instant::now();
                let r = one(&t, &mut s, t0, || {
                    first_seen = true;
                    permit = None;
                    opened.fetch_add(1, Ordering::Relaxed);
                })
                .await;
                match r {
                    Ok(sample) => {
                        if !sample.ok {
                            if (200..300).contains(&sample.status) {
                                errors.tail.fetch_add(1, Ordering::Relaxed);
                            } else {
                                errors.status.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok::<_, BoxError>(Some(sample))
                    }
                    Err(e) => {
                        errors.io.fetch_add(1, Ordering::Relaxed);
                        Err(e)
                    }
                }
            };
            let r = tokio::time::timeout_at(deadline.into(), work).await;
            let sample = match r {
                Ok(Ok(s)) => s,
                Ok(Err(_)) => None,
                Err(_) => {
                    errors.timeout.fetch_add(1, Ordering::Relaxed);
                    None
                }
            };
            if !first_seen {
                failed_early.fetch_add(1, Ordering::Relaxed);
            }
            finished.fetch_add(1, Ordering::Relaxed);
            sample
        }));
    }
    // Wait until every stream has its first byte (or has failed), then look at the
    // server while they are all held open.
    let all_open_after;
    let mut at_peak = json!(null);
    let held_at_sample;
    loop {
        let o_ = opened.load(Ordering::Relaxed);
        let f_ = failed_early.load(Ordering::Relaxed);
        if o_ + f_ >= o.n || Instant::now() >= deadline {
            all_open_after = Some(start.elapsed());
            held_at_sample = o_ - finished.load(Ordering::Relaxed).min(o_);
            if let Some(pid) = o.rss_pid {
                at_peak = proc_status(pid);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut ttfb = Vec::new();
    let mut ok = 0;
    for task in tasks {
        if let Ok(Some(s)) = task.await
            && s.ok
        {
            ok += 1;
            ttfb.push(s.ttfb.as_nanos() as u64);
        }
    }
    json!({
        "n": o.n,
        "opened": opened.load(Ordering::Relaxed),
        "held_open_at_sample": held_at_sample,
        "all_open_after_ms": all_open_after.map(|d| d.as_millis() as u64),
        "completed_ok": ok,
        "errors": errors.json(),
        "error_total": errors.total(),
        "elapsed_ms": start.elapsed().as_millis() as u64,
        "server_at_peak": at_peak,
        "ttfb": percentiles(ttfb),
    })
}

/// A realistic request body in the shape of one of the four APIs (`anthropic`,
/// `openai` for Chat Completions, `responses`, `gemini`).
fn make_body(format: &str, model: &str, stream: bool, size_kb: usize) -> serde_json::Value {
    let system = "You are Claude Code, Anthropic's official CLI for Claude. You are an \
                  interactive CLI tool that helps users with software engineering tasks.";
    let code = "fn main() {\n    let xs: Vec<u64> = (0..1000).map(|x| x * x).collect();\n    \
                println!(\"{}\", xs.iter().sum::<u64>());\n}\n";
    let anthropic = format == "anthropic";
    if format == "responses" {
        return responses_body(system, code, model, stream, size_kb);
    }
    if format == "gemini" {
        return gemini_body(system, code, size_kb);
    }
    let mut messages: Vec<serde_json::Value> = Vec::new();
    let mut turn = 0usize;
    let size = |m: &Vec<serde_json::Value>| serde_json::to_vec(m).map_or(0, |v| v.len());
    while size_kb > 0 && size(&messages) < size_kb * 1024 {
        let file = code.repeat(16);
        let id = format!("toolu_{turn:020}");
        if anthropic {
            messages.push(json!({"role": "user", "content": [
                {"type": "text", "text": format!("Step {turn}: read src/lib{turn}.rs and explain it.")}]}));
            messages.push(json!({"role": "assistant", "content": [
                {"type": "text", "text": "I'll read the file."},
                {"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": format!("/repo/src/lib{turn}.rs")}}]}));
            messages.push(json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": file}]}));
            messages.push(json!({"role": "assistant", "content": [
                {"type": "text", "text": "This file computes the sum of the first thousand squares and prints it."}]}));
        } else {
            messages.push(json!({"role": "user", "content": format!("Step {turn}: read src/lib{turn}.rs and explain it.")}));
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": "Read",
                 "arguments": json!({"file_path": format!("/repo/src/lib{turn}.rs")}).to_string()}}]}));
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": file}));
            messages.push(json!({"role": "assistant", "content": "This file computes the sum of the first thousand squares and prints it."}));
        }
        turn += 1;
    }
    messages.push(json!({"role": "user", "content": "Write a haiku about benchmarks."}));
    if anthropic {
        let mut b = json!({
            "model": model,
            "max_tokens": 1024,
            "system": [{"type": "text", "text": system}],
            "messages": messages,
            "metadata": {"user_id": "user_bench_account__session_0f3c8a54-7d1e-4b8e-9a51-3c2f1e0d9b77"},
        });
        if stream {
            b["stream"] = json!(true);
        }
        b
    } else {
        let mut all = vec![json!({"role": "system", "content": system})];
        all.extend(messages);
        let mut b = json!({
            "model": model,
            "max_tokens": 1024,
            "messages": all,
            "user": "bench-session-0f3c8a54",
        });
        if stream {
            b["stream"] = json!(true);
            b["stream_options"] = json!({"include_usage": true});
        }
        b
    }
}

/// The Responses request with the same content as [`make_body`]'s: the system prompt
/// as `instructions`, the same earlier turns (user message, assistant text, a
/// `function_call` of `Read` and its `function_call_output`, the assistant's answer)
/// and the same last question; plus the `Read` tool those turns call.
fn responses_body(
    system: &str,
    code: &str,
    model: &str,
    stream: bool,
    size_kb: usize,
) -> serde_json::Value {
    let user = |text: String| {
        json!({"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": text}]})
    };
    let assistant = |text: &str| {
        json!({"type": "message", "role": "assistant",
               "content": [{"type": "output_text", "text": text}]})
    };
    let mut input: Vec<serde_json::Value> = Vec::new();
    let mut turn = 0usize;
    let size = |m: &Vec<serde_json::Value>| serde_json::to_vec(m).map_or(0, |v| v.len());
    while size_kb > 0 && size(&input) < size_kb * 1024 {
        let file = code.repeat(16);
        let id = format!("call_{turn:020}");
        input.push(user(format!(
            "Step {turn}: read src/lib{turn}.rs and explain it."
        )));
        input.push(assistant("I'll read the file."));
        input.push(
            json!({"type": "function_call", "call_id": id, "name": "Read",
            "arguments": json!({"file_path": format!("/repo/src/lib{turn}.rs")}).to_string()}),
        );
        input.push(json!({"type": "function_call_output", "call_id": id, "output": file}));
        input.push(assistant(
            "This file computes the sum of the first thousand squares and prints it.",
        ));
        turn += 1;
    }
    input.push(user("Write a haiku about benchmarks.".to_string()));
    let mut b = json!({
        "model": model,
        "instructions": system,
        "input": input,
        "tools": [{
            "type": "function",
            "name": "Read",
            "description": "Reads a file from the local filesystem.",
            "strict": false,
            "parameters": {
                "type": "object",
                "properties": {"file_path": {"type": "string",
                    "description": "The absolute path to the file to read"}},
                "required": ["file_path"],
                "additionalProperties": false
            }
        }],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "max_output_tokens": 1024,
        "store": false,
        "prompt_cache_key": "bench-session-0f3c8a54",
    });
    if stream {
        b["stream"] = json!(true);
    }
    b
}

/// The Gemini request with the same content as [`make_body`]'s: the system prompt as
/// `systemInstruction`, the same earlier turns (user text; model text and a
/// `functionCall` of `Read`; its `functionResponse`; the model's answer) and the same
/// last question; plus the `Read` declaration those turns call. The model and whether
/// to stream are in the URL, not here.
fn gemini_body(system: &str, code: &str, size_kb: usize) -> serde_json::Value {
    let text = |role: &str, text: &str| json!({"role": role, "parts": [{"text": text}]});
    let mut contents: Vec<serde_json::Value> = Vec::new();
    let mut turn = 0usize;
    let size = |m: &Vec<serde_json::Value>| serde_json::to_vec(m).map_or(0, |v| v.len());
    while size_kb > 0 && size(&contents) < size_kb * 1024 {
        let file = code.repeat(16);
        contents.push(text(
            "user",
            &format!("Step {turn}: read src/lib{turn}.rs and explain it."),
        ));
        contents.push(json!({"role": "model", "parts": [
            {"text": "I'll read the file."},
            {"functionCall": {"name": "Read",
                              "args": {"file_path": format!("/repo/src/lib{turn}.rs")}}}]}));
        contents.push(json!({"role": "user", "parts": [
            {"functionResponse": {"name": "Read", "response": {"output": file}}}]}));
        contents.push(text(
            "model",
            "This file computes the sum of the first thousand squares and prints it.",
        ));
        turn += 1;
    }
    contents.push(text("user", "Write a haiku about benchmarks."));
    json!({
        "contents": contents,
        "systemInstruction": {"parts": [{"text": system}]},
        "tools": [{"functionDeclarations": [{
            "name": "Read",
            "description": "Reads a file from the local filesystem.",
            "parameters": {
                "type": "object",
                "properties": {"file_path": {"type": "string",
                    "description": "The absolute path to the file to read"}},
                "required": ["file_path"]
            }
        }]}],
        "generationConfig": {"maxOutputTokens": 1024, "temperature": 1.0},
    })
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().cloned() else {
        return Err(
            "usage: bench_client load|streams|body ... (see the top of examples/bench_client.rs)"
                .into(),
        );
    };
    // The last occurrence of a flag wins.
    let get = |name: &str| -> Option<String> {
        args.iter()
            .rposition(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: f64| -> f64 {
        get(name).and_then(|s| s.parse().ok()).unwrap_or(default)
    };
    if cmd == "body" {
        let b = make_body(
            &get("--format").unwrap_or_else(|| "anthropic".into()),
            &get("--model").unwrap_or_else(|| "claude-sonnet-4-5".into()),
            args.iter().any(|a| a == "--stream"),
            num("--size-kb", 0.0) as usize,
        );
        print!("{b}");
        return Ok(());
    }
    let url: Uri = get("--url").ok_or("--url is required")?.parse()?;
    let host = url.host().ok_or("--url needs a host")?;
    if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
        return Err("bench_client only talks to 127.0.0.1".into());
    }
    let port = url.port_u16().unwrap_or(80);
    let body = match get("--body") {
        Some(f) => Bytes::from(std::fs::read(&f)?),
        None => Bytes::new(),
    };
    let mut headers = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if a == "-H" || a == "--header" {
            let h = args.get(i + 1).ok_or("-H needs a value")?;
            let (k, v) = h.split_once(':').ok_or("-H wants 'name: value'")?;
            headers.push((
                HeaderName::from_bytes(k.trim().as_bytes())?,
                HeaderValue::from_str(v.trim())?,
            ));
        }
    }
    let target = Arc::new(Target {
        addr: format!("127.0.0.1:{port}"),
        host: HeaderValue::from_str(&format!("127.0.0.1:{port}"))?,
        path: url
            .path_and_query()
            .map_or("/".to_string(), |p| p.to_string()),
        headers,
        body,
        expect_tail: get("--expect-tail"),
        expect_event: get("--expect-event"),
        expect_data: get("--expect-data"),
    });
    let threads = num("--threads", 0.0) as usize;
    let conns = num("--conns", 1.0) as usize;
    let rt = if threads == 1 || (threads == 0 && conns <= 1 && cmd == "load") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if threads > 0 {
            b.worker_threads(threads);
        }
        b.enable_all().build()?
    };
    let out = match cmd.as_str() {
        "load" => rt.block_on(load(
            target,
            LoadOpts {
                conns: conns.max(1),
                duration: Duration::from_secs_f64(num("--duration", 5.0).clamp(0.1, 600.0)),
                warmup: Duration::from_secs_f64(num("--warmup", 1.0).clamp(0.0, 60.0)),
                rate: get("--rate").and_then(|s| s.parse().ok()),
            },
        )),
        "streams" => rt.block_on(streams(
            target,
            StreamsOpts {
                n: num("--n", 1000.0) as usize,
                connect_concurrency: num("--connect-concurrency", 100.0) as usize,
                timeout: Duration::from_secs_f64(num("--timeout", 60.0).clamp(1.0, 600.0)),
                rss_pid: get("--rss-pid").and_then(|s| s.parse().ok()),
            },
        )),
        other => return Err(format!("unknown command {other:?} (load|streams)").into()),
    };
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Bytes, last_data, last_event};

    fn frames(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn last_event_across_frames() {
        let long = "x".repeat(500);
        let f = frames(&[
            "event: response.created\ndata: {}\n\nevent: response.comp",
            "leted\r\ndata: {\"a\":\"",
            &long,
            "\"}\n\n",
        ]);
        assert_eq!(last_event(&f).as_deref(), Some(&b"response.completed"[..]));
        assert_eq!(
            last_event(&frames(&["event:message_stop\ndata: {}\n\n"])).as_deref(),
            Some(&b"message_stop"[..])
        );
        assert_eq!(last_event(&frames(&["data: [DONE]\n\n"])), None);
        // An `event:` text inside a data line is not an event line.
        assert_eq!(last_event(&frames(&["data: event: x\n\n"])), None);
    }

    #[test]
    fn last_data_across_frames() {
        let long = "x".repeat(500);
        let f = frames(&[
            "data: {\"a\":1}\r\n\r\ndata: {\"candidates\":[{\"",
            &long,
            "\",\"finishReason\":\"STOP\"}]}\r\n\r\n",
        ]);
        let last = last_data(&f).expect("a data line");
        assert!(last.starts_with(b"{\"candidates\""));
        assert!(last.ends_with(b"\"STOP\"}]}"));
        assert_eq!(
            last_data(&frames(&["event: x\ndata: [DONE]\n\n"])).as_deref(),
            Some(&b"[DONE]"[..])
        );
        assert_eq!(last_data(&frames(&["event: message_stop\n\n"])), None);
    }
}
