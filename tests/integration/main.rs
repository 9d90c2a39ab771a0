//! The integration tests: the real `llm-gateway` binary, started with a temp `HOME` on
//! port 0 against strict mock upstreams (`tests/common/`). One test binary for every
//! suite, so a build links the crate once: `cargo test --test integration` runs them
//! all, `cargo test --test integration routing::` one suite.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod admin_api;
mod chatgpt;
mod cli;
mod conversion;
mod cors;
mod faults;
mod formats;
mod gemini;
mod gemini_mock;
mod governance;
mod limits_cli;
mod metrics;
mod oauth;
mod prices_cli;
mod proxy;
mod responses;
mod responses_mock;
mod responses_ws;
mod routing;
mod shared;
mod tls;
mod usage_cli;
