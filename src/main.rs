//! The `llm-gateway` binary: parse the command line, run it, map errors to exit codes.
//! Everything else lives in the library.

use std::process::ExitCode;

/// mimalloc: fewer cycles per allocation than glibc's malloc on the request path (a
/// third less CPU per converted request; see docs/benchmarks.md), for some idle memory.
/// Built with `no_thp`: otherwise mimalloc asks for transparent huge pages, and each
/// thread that touches its heap gets a whole 2 MiB page (15.5 MB idle instead of 2.3 MB
/// of anonymous memory).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    llm_gateway::cli::main()
}
