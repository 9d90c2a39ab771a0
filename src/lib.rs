//! llm-gateway: one local endpoint for every LLM account a developer owns.
//!
//! The crate is split by concern so that a newcomer finds the path of a request from
//! the file names alone:
//!
//! - [`cli`] — the clap command tree (definitions apart from handlers);
//! - [`config`] — the YAML state file: types, validation, locking and atomic writes;
//! - [`keys`] — gateway key generation, hashing and constant-time checks;
//! - [`limits`] — per-key rpm, tpm, budgets and model lists (pure, time injected);
//! - [`ledger`] — the usage ledger (`usage.db`): one row per request, written off the
//!   request path, read by `llm-gateway usage`;
//! - [`server`] — the hyper listener: auth, format detection, proxying, admin surface;
//! - [`shared`] — team mode's state in Redis: limits, budgets, cool-downs across
//!   instances;
//! - [`prices`] — the price table (built-in snapshot + config) and request cost;
//! - [`router`] — which upstream serves which model;
//! - [`upstream`] — the pooled HTTPS client, proxy settings and upstream credentials.

pub mod cli;
pub mod config;
pub mod convert;
pub mod keys;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod oauth;
pub mod prices;
pub mod router;
pub mod server;
pub mod shared;
pub mod sse;
pub mod upstream;
pub mod util;
