//! The `llm-gateway` binary: parse the command line, run it, map errors to exit codes.
//! Everything else lives in the library.

use std::process::ExitCode;

/// mimalloc: fewer cycles per allocation than glibc's malloc on the request path (a
/// third less CPU per converted request; see docs/benchmarks.md), for some idle memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    llm_gateway::cli::main()
}
