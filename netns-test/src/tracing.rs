//! Per-node logs of `tracing` events (the `tracing` feature).
//!
//! In a test process netns-test installs a subscriber before the body runs, unless one is
//! installed already; it records every event with the node its thread was in, the time since the
//! body started, and the fields of its spans. A failing test prints the last 50 lines, tagged
//! `[node]` (all of them with `NETNS_TEST_LOGS=all`), and its report page shows them all.
//!
//! A crate that sets up its own subscriber adds [`layer()`] to it, before the body runs (in a
//! fixture harness's `main`, say); a subscriber installed by the body itself comes too late,
//! as netns-test's is global already (`try_init()` returns an error and keeps netns-test's).
//!
//! ```ignore
//! use tracing_subscriber::prelude::*;
//!
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(netns_test::tracing::layer())
//!     .init();
//! ```

use std::fmt::Write as _;
use std::sync::Arc;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The layer that records each event in its node's log: add it to a subscriber of your own.
pub fn layer() -> NodeLayer {
    NodeLayer { _private: () }
}

/// See [`layer()`].
#[derive(Debug)]
pub struct NodeLayer {
    _private: (),
}

/// A span's fields, as `key=value` text.
struct SpanFields(String);

impl<S> tracing_subscriber::Layer<S> for NodeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.0));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(text)) = ext.get_mut::<SpanFields>() {
            let mut more = Fields(std::mem::take(text));
            values.record(&mut more);
            *text = more.0;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                let ext = span.extensions();
                let fields = ext.get::<SpanFields>().map_or("", |f| f.0.as_str());
                let _ = write!(text, "{}", span.name());
                if !fields.is_empty() {
                    let _ = write!(text, "{{{fields}}}");
                }
                text.push_str(": ");
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        text.push_str(&fields.0);
        let meta = event.metadata();
        let node: Arc<str> = crate::logs::node_of_this_thread();
        crate::logs::record(&node, meta.target().to_string(), Some(level(meta.level())), text);
    }
}

fn level(l: &tracing_core::Level) -> &'static str {
    match *l {
        tracing_core::Level::ERROR => "ERROR",
        tracing_core::Level::WARN => "WARN",
        tracing_core::Level::INFO => "INFO",
        tracing_core::Level::DEBUG => "DEBUG",
        _ => "TRACE",
    }
}

/// `message key=value key=value`, the message first and unquoted.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.put(None, value);
        } else {
            self.put(Some(field.name()), &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let name = (field.name() != "message").then(|| field.name());
        self.put(name, &format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, name: Option<&str>, value: &str) {
        match name {
            None if self.0.is_empty() => self.0.push_str(value),
            None => self.0 = format!("{value} {}", self.0),
            Some(name) => {
                if !self.0.is_empty() {
                    self.0.push(' ');
                }
                let _ = write!(self.0, "{name}={value}");
            }
        }
    }
}

/// In a test child, before the body: the subscriber that records events, unless the process
/// installed one of its own.
pub(crate) fn install() {
    use tracing_subscriber::layer::SubscriberExt;
    if tracing_core::dispatcher::has_been_set() {
        return;
    }
    let subscriber = tracing_subscriber::registry().with(layer());
    let _ = tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber));
}
