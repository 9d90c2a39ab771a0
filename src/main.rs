//! The `llm-gateway` binary: parse the command line, run it, map errors to exit codes.
//! Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    llm_gateway::cli::main()
}
