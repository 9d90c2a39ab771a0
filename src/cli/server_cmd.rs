//! `llm-gateway server start | status`.

use serde_json::json;

use super::args::ServerCommand;
use super::status::{AdminClient, Reach};
use super::{CliError, CliResult, Ctx};
use crate::server::{self, StartOptions};

pub fn run(ctx: &Ctx, cmd: ServerCommand) -> CliResult {
    match cmd {
        ServerCommand::Start {
            host,
            port,
            tls_cert,
            tls_key,
        } => {
            server::start(
                ctx.store.clone(),
                StartOptions {
                    host,
                    port,
                    tls_cert,
                    tls_key,
                },
            )?;
            Ok(())
        }
        ServerCommand::Status => {
            let client = match AdminClient::discover(&ctx.store) {
                Reach::Running(c) => c,
                Reach::NotRunning(why) => {
                    ctx.out
                        .emit(&json!({"running": false, "reason": why}), || {
                            format!("Not running: {why}. Start it with `llm-gateway server start`.")
                        })?;
                    return Err(CliError::Silent);
                }
            };
            let s = client.get("/admin/status")?;
            let v = json!({
                "running": true,
                "url": client.url(),
                "pid": s["pid"],
                "version": s["version"],
                "started_at": s["started_at"],
                "uptime_secs": s["uptime_secs"],
                "config_path": s["config_path"],
            });
            ctx.out.emit(&v, || {
                format!(
                    "Running at {} (pid {}, version {}), up {} since {}.\nConfig: {}",
                    client.url(),
                    s["pid"],
                    s["version"].as_str().unwrap_or("?"),
                    super::status::human_secs(s["uptime_secs"].as_u64().unwrap_or(0)),
                    s["started_at"].as_str().unwrap_or("?"),
                    s["config_path"].as_str().unwrap_or("?"),
                )
            })?;
            Ok(())
        }
    }
}
