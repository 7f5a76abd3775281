//! The open-file budget: every client connection holds one file descriptor, so
//! the connection limits are sized from the process's `RLIMIT_NOFILE`.
//!
//! At start `main` raises the soft limit to the hard one ([`raise_open_file_limit`]);
//! the defaults of `--max-connections` and `--max-http-connections` are then
//! derived from the limit the process has ([`default_max_connections`],
//! [`default_max_http_connections`]), so that both kinds of connection together
//! can never run the process out of descriptors.

use std::io;

use rlimit::Resource;

/// Descriptors kept back for everything that is not a client connection: standard
/// input, output and error, the listener, the runtime's epoll and wakers, files
/// read from `--dist`, and connections the accept loop has taken but not yet
/// counted.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// The most connections not yet upgraded to WebSockets that the default allows:
/// enough for a busy page server, few enough that their buffers stay small.
pub const MAX_DEFAULT_HTTP_CONNECTIONS: u64 = 1024;

/// The most WebSockets the default allows, whatever the open-file limit: a
/// memory bound as much as a descriptor bound.
pub const MAX_DEFAULT_CONNECTIONS: u64 = 10_000;

/// The open-file limit before and after [`raise_open_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub soft: u64,
    /// The hard limit, which only a privileged process may raise.
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard one. Usual systems start
/// processes with a soft limit of 1,024 and a far higher hard limit, which any
/// process may take for itself.
pub fn raise_open_file_limit() -> io::Result<OpenFileLimit> {
    let (before, hard) = rlimit::getrlimit(Resource::NOFILE)?;
    let soft = rlimit::increase_nofile_limit(hard)?;
    Ok(OpenFileLimit { before, soft, hard })
}

/// The soft open-file limit of this process, or the usual 1,024 where it
/// cannot be read.
pub fn open_file_limit() -> u64 {
    rlimit::getrlimit(Resource::NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Descriptors left for client connections under `open_files`.
fn for_clients(open_files: u64) -> u64 {
    open_files.saturating_sub(RESERVED_DESCRIPTORS)
}

/// The default of `--max-http-connections`: an eighth of the descriptors left
/// after the reserve, from 1 to [`MAX_DEFAULT_HTTP_CONNECTIONS`].
pub fn default_max_http_connections(open_files: u64) -> u32 {
    let share = (for_clients(open_files) / 8).clamp(1, MAX_DEFAULT_HTTP_CONNECTIONS);
    u32::try_from(share).unwrap_or(u32::MAX)
}

/// The default of `--max-connections`: the descriptors left after the reserve
/// and the HTTP connections' share, from 1 to [`MAX_DEFAULT_CONNECTIONS`].
pub fn default_max_connections(open_files: u64) -> u32 {
    let http = u64::from(default_max_http_connections(open_files));
    let share = for_clients(open_files).saturating_sub(http).clamp(1, MAX_DEFAULT_CONNECTIONS);
    u32::try_from(share).unwrap_or(u32::MAX)
}

/// Descriptors the server may hold at once with these limits: one per
/// connection of either kind, plus the reserve.
pub fn descriptors_needed(max_connections: u32, max_http_connections: u32) -> u64 {
    u64::from(max_connections) + u64::from(max_http_connections) + RESERVED_DESCRIPTORS
}

/// Whether an I/O error says the process or the system ran out of file
/// descriptors (EMFILE or ENFILE, which have these numbers on Linux and the BSDs).
pub fn is_out_of_descriptors(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(23 | 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_share_the_descriptors_and_never_exceed_the_limit() {
        // (open-file limit, HTTP connections, WebSockets)
        for (open_files, http, websockets) in [
            (1024, 120, 840),
            (256, 24, 168),
            (4096, 504, 3528),
            (20_000, 1024, 10_000),
            (1 << 20, 1024, 10_000),
            (65, 1, 1),
            (10, 1, 1),
        ] {
            assert_eq!(default_max_http_connections(open_files), http, "HTTP at {open_files}");
            assert_eq!(default_max_connections(open_files), websockets, "WebSockets at {open_files}");
            if open_files > RESERVED_DESCRIPTORS + 1 {
                assert!(descriptors_needed(websockets, http) <= open_files, "{open_files}");
            }
        }
    }

    #[test]
    fn only_emfile_and_enfile_mean_out_of_descriptors() {
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(24)));
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(23)));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(103)));
        assert!(!is_out_of_descriptors(&io::Error::other("x")));
    }
}
