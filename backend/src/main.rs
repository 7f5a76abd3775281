//! The echo server's command line: `cargo run -p backend -- --help`.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

use backend::config::LogFormat;
use backend::{limits, runtime, Config};

fn main() -> ExitCode {
    // Before parsing: the connection limits' defaults are derived from the
    // open-file limit this leaves.
    let raised = limits::raise_open_file_limit();
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    match raised {
        Ok(limit) if limit.soft > limit.before => {
            info!(
                before = limit.before,
                soft = limit.soft,
                hard = limit.hard,
                "raised the open-file limit to the hard limit"
            )
        }
        Ok(limit) => info!(soft = limit.soft, hard = limit.hard, "the open-file limit is already the hard limit"),
        Err(err) => warn!(%err, "cannot raise the open-file limit"),
    }

    // One event loop per thread, each with its own listener: runtime.rs says why.
    match runtime::serve(config, shutdown_signal()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
