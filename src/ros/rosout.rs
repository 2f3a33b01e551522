//! Logging as ROS does: every log line of the process also goes to `/rosout`
//! (rcl_interfaces/msg/Log) through the transport, and `--log-level` takes ROS's forms.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::error::{Error, Result};

/// rcl_interfaces/msg/Log levels.
pub const DEBUG: u8 = 10;
pub const INFO: u8 = 20;
pub const WARN: u8 = 30;
pub const ERROR: u8 = 40;

/// Where a log line goes on ROS: (level, logger name, message, file, line).
pub type LogSink = Arc<dyn Fn(u8, &str, &str, &str, u32) + Send + Sync>;

thread_local! {
    /// Set while a line is being sent, so the sink's own logging does not come back here.
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// A tracing layer that forwards each event to the sink, once the transport has given one.
#[derive(Clone, Default)]
pub struct RosoutLayer {
    sink: Arc<OnceLock<LogSink>>,
}

impl RosoutLayer {
    /// Starts forwarding (lines logged before the transport existed stay on stderr only).
    pub fn connect(&self, sink: LogSink) {
        let _ = self.sink.set(sink);
    }
}

struct Message(String);
impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

impl<S: Subscriber> Layer<S> for RosoutLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(sink) = self.sink.get() else {
            return;
        };
        if SENDING.with(|s| s.replace(true)) {
            return;
        }
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => ERROR,
            Level::WARN => WARN,
            Level::INFO => INFO,
            _ => DEBUG,
        };
        let mut msg = Message(String::new());
        event.record(&mut msg);
        sink(
            level,
            meta.target(),
            &msg.0,
            meta.file().unwrap_or(""),
            meta.line().unwrap_or(0),
        );
        SENDING.with(|s| s.set(false));
    }
}

/// The tracing filter of a `--log-level` argument, as rcl reads it: `LEVEL` for the whole
/// node, or `NAME:=LEVEL` for one logger (this node's name, or any other name, which is then
/// left at `info`). Levels: debug, info, warn, error, fatal (= error here), any case. Anything
/// else is a start-up error, not a silently mute node.
pub fn log_filter(arg: Option<&str>, node_name: &str) -> Result<String> {
    let Some(arg) = arg else {
        return Ok("info".into());
    };
    let (name, level) = match arg.split_once(":=") {
        Some((n, l)) => (Some(n.trim()), l.trim()),
        None => (None, arg.trim()),
    };
    let lvl = match level.to_ascii_lowercase().as_str() {
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "fatal" => "error",
        _ => {
            return Err(Error::invalid(
                "--log-level",
                format!("`{arg}`: expected LEVEL or NAME:=LEVEL, LEVEL one of debug, info, warn, error, fatal"),
            ))
        }
    };
    Ok(match name {
        None => lvl.into(),
        Some(n) if n == node_name || n == "ndp_policy" => lvl.into(),
        Some(_) => "info".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn log_levels_as_rcl_reads_them() {
        assert_eq!(log_filter(None, "n").unwrap(), "info");
        assert_eq!(log_filter(Some("DEBUG"), "n").unwrap(), "debug");
        assert_eq!(log_filter(Some("fatal"), "n").unwrap(), "error");
        assert_eq!(log_filter(Some("n:=warn"), "n").unwrap(), "warn");
        assert_eq!(log_filter(Some("other:=debug"), "n").unwrap(), "info");
        let e = log_filter(Some("verbose"), "n").unwrap_err().to_string();
        assert!(e.contains("--log-level") && e.contains("verbose"), "{e}");
        assert!(log_filter(Some("n:=loud"), "n").is_err());
    }
}
