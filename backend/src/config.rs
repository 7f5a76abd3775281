//! The server's whole configuration: one typed struct, read from flags with
//! environment fallbacks, and passed in to everything that needs it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::limits;

/// How the echo server is configured. `backend --help` prints this as documentation.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "backend",
    version,
    about = "WebSocket echo server: serves the web app and echoes every message sent to /ws",
    long_about = "WebSocket echo server.\n\n\
        Serves the trunk-built web app from --dist and, on the same port, a WebSocket \
        endpoint at /ws that sends every text message back as text and every binary \
        message back as binary. Every flag can also be set from the environment \
        variable named beside it."
)]
pub struct Config {
    /// Address to listen on, as HOST:PORT (port 0 picks a free port).
    #[arg(long, env = "ECHO_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Serve the web app from this folder (trunk's output) instead of the bundle
    /// built into the binary. Without it: the built-in bundle, or ./dist when the
    /// binary was built without one.
    #[arg(long, env = "ECHO_DIST", value_name = "DIR")]
    pub dist: Option<PathBuf>,

    /// Largest message the server accepts, in bytes; a larger one is answered with
    /// close code 1009 (message too big).
    #[arg(long, env = "ECHO_MAX_MESSAGE_BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_bytes: u32,

    /// Most WebSocket connections open at once; the next upgrade is refused with
    /// 503 until one closes. Default: the open-file limit minus 64 reserved
    /// descriptors minus --max-http-connections' default, at most 10000 (the
    /// default shown is this process's).
    #[arg(long, env = "ECHO_MAX_CONNECTIONS",
          default_value_t = limits::default_max_connections(limits::open_file_limit()),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Most connections open at once that are not WebSockets: TLS handshakes,
    /// HTTP requests and idle keep-alive connections. When a new connection
    /// arrives at this limit, the one that has made no progress for longest is
    /// closed to make room. Default: an eighth of (the open-file limit minus 64),
    /// from 1 to 1024 (the default shown is this process's).
    #[arg(long, env = "ECHO_MAX_HTTP_CONNECTIONS",
          default_value_t = limits::default_max_http_connections(limits::open_file_limit()),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_http_connections: u32,

    /// Origin allowed to open a WebSocket (repeatable, e.g. https://echo.example.com).
    /// When any is given, a browser upgrade from another origin gets 403; requests
    /// without an Origin header (non-browser clients) are accepted. By default every
    /// origin is allowed: the echo holds no secrets and no cookies are used.
    #[arg(long = "allowed-origin", env = "ECHO_ALLOWED_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_origin: Vec<String>,

    /// How often the server pings each connection to check that it is alive (e.g. 30s).
    #[arg(long, env = "ECHO_PING_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// How long a ping may go unanswered before the connection is closed (e.g. 10s).
    #[arg(long, env = "ECHO_PING_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub ping_timeout: Duration,

    /// How long a new connection may take to send its first request head, TLS
    /// handshake included (e.g. 10s, 500ms).
    #[arg(long, env = "ECHO_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long a request may take from the end of its head to its answer, which
    /// is mostly the time to send the body (e.g. 30s); a slower request gets 408
    /// and its connection is closed.
    #[arg(long, env = "ECHO_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// How long a kept-alive connection may take after an answer to send the
    /// next request head in full (e.g. 75s); then it is closed. Longer than the
    /// 60 s a proxy such as nginx keeps idle connections by default, so that the
    /// proxy, not the server, closes them.
    #[arg(long, env = "ECHO_IDLE_TIMEOUT", default_value = "75s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Bytes that all /ws/lab connections together may hold for reassembling
    /// messages and delaying echoes (each connection also stops at 1 MiB of
    /// delayed echoes and at --max-message-bytes per message). A lab connection
    /// that would go past it is closed with 1013 (try again later).
    #[arg(long, env = "ECHO_LAB_MEMORY", default_value_t = 64 << 20, value_name = "BYTES")]
    pub lab_memory: usize,

    /// Compression of messages (permessage-deflate, RFC 7692): off; on, with no
    /// compression state kept between messages (an idle connection costs
    /// nothing more); or context-takeover, which keeps each connection's
    /// compressor and decompressor between messages for a better ratio (about
    /// 300 KiB per connection that has compressed a message).
    #[arg(long, env = "ECHO_DEFLATE", value_enum, default_value_t = DeflateMode::On)]
    pub deflate: DeflateMode,

    /// The largest compression window, in bits (9 to 15): the server compresses
    /// with at most this window and asks clients that can to do the same.
    #[arg(long, env = "ECHO_DEFLATE_WINDOW_BITS", default_value_t = 15, value_name = "BITS",
          value_parser = clap::value_parser!(u8).range(9..=15))]
    pub deflate_window_bits: u8,

    /// A subprotocol /ws may select (repeatable, e.g. chat.v1): the first one the
    /// client offers that is listed here is named in Sec-WebSocket-Protocol.
    /// With none listed, /ws selects none. (/ws/lab selects the client's first
    /// offer, whatever it is.)
    #[arg(long = "subprotocol", env = "ECHO_SUBPROTOCOLS", value_delimiter = ',', value_name = "NAME")]
    pub subprotocol: Vec<String>,

    /// Certificate chain (PEM) to serve https and wss with; needs --tls-key.
    #[arg(long, env = "ECHO_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of the certificate; needs --tls-cert.
    #[arg(long, env = "ECHO_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Log lines for people (text) or for log collectors (json, one object per line).
    #[arg(long, env = "ECHO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Threads that serve connections, each with its own event loop, all
    /// accepting from the one listening socket; a connection stays on the
    /// thread that accepted it. Default: one per CPU this process may use (its
    /// CPU affinity and cgroup quota count).
    #[arg(long, env = "ECHO_THREADS", value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,

    /// On SIGINT or SIGTERM, how long open sockets get to finish the close
    /// handshake (e.g. 5s) before the server exits anyway.
    #[arg(long, env = "ECHO_SHUTDOWN_GRACE", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// Whether and how messages are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeflateMode {
    /// Never agree to permessage-deflate.
    Off,
    /// Agree to it with no context takeover in either direction.
    On,
    /// Agree to it keeping compression history between messages where the client allows.
    ContextTakeover,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the connection's span fields.
    Json,
}

impl Config {
    /// A configuration with every default, listening on `addr` and serving `dist`.
    /// Tests and embedders start from here and adjust fields.
    pub fn new(addr: SocketAddr, dist: impl Into<PathBuf>) -> Config {
        let mut config = Config::parse_from(["backend"]);
        config.addr = addr;
        config.dist = Some(dist.into());
        config
    }
}

/// Parses durations written like `30s`, `500ms` or `1m 30s`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (write durations like 30s or 500ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let config = Config::try_parse_from(["backend"]).unwrap();
        assert_eq!(config.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.dist, None);
        assert_eq!(config.max_message_bytes, 1 << 20);
        assert_eq!(config.header_timeout, Duration::from_secs(10));
        assert_eq!(config.body_timeout, Duration::from_secs(30));
        assert_eq!(config.idle_timeout, Duration::from_secs(75));
        let open_files = limits::open_file_limit();
        assert_eq!(config.max_connections, limits::default_max_connections(open_files));
        assert_eq!(config.max_http_connections, limits::default_max_http_connections(open_files));
        assert_eq!(config.ping_interval, Duration::from_secs(30));
        assert_eq!(config.ping_timeout, Duration::from_secs(10));
        assert!(config.allowed_origin.is_empty());
        assert_eq!(config.deflate, DeflateMode::On);
        assert_eq!(config.deflate_window_bits, 15);
        assert!(config.subprotocol.is_empty());
        assert_eq!(config.threads, None);
    }

    #[test]
    fn origins_repeat() {
        let config = Config::try_parse_from([
            "backend",
            "--allowed-origin",
            "https://a.example",
            "--allowed-origin",
            "http://b",
        ])
        .unwrap();
        assert_eq!(config.allowed_origin, ["https://a.example", "http://b"]);
    }

    #[test]
    fn durations_accept_human_units() {
        let config = Config::try_parse_from(["backend", "--shutdown-grace", "250ms"]).unwrap();
        assert_eq!(config.shutdown_grace, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_are_rejected_with_a_message() {
        for args in [
            &["backend", "--addr", "nowhere"][..],
            &["backend", "--shutdown-grace", "soon"],
            &["backend", "--max-connections", "0"],
            &["backend", "--max-http-connections", "0"],
            &["backend", "--deflate", "sometimes"],
            &["backend", "--deflate-window-bits", "8"],
            &["backend", "--threads", "0"],
        ] {
            let err = Config::try_parse_from(args).unwrap_err();
            let kind = err.kind();
            assert!(
                matches!(kind, clap::error::ErrorKind::ValueValidation | clap::error::ErrorKind::InvalidValue),
                "{args:?}: {kind:?}"
            );
        }
    }
}
