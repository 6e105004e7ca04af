//! Link conditions: `rate`, `delay`, `jitter`, `loss`, `duplicate` and `reorder`, their value
//! syntax and the rules between them. The option list around them is the grammar's; the
//! runtime's `Link::set` reads the same text with the same messages.

use std::fmt;
use std::time::Duration;

/// How a link misbehaves on purpose; each condition applies to each direction on its own (a
/// ping over `delay=20ms` takes 40 ms).
///
/// ```
/// use netns_test_topology::Topology;
/// use std::time::Duration;
///
/// let t = Topology::parse("a=10.0.0.1/24 -- b=10.0.0.2/24 [delay=20ms, jitter=5ms, loss=1%]").unwrap();
/// let c = t.links[0].conditions;
/// assert_eq!(c.delay, Duration::from_millis(20));
/// assert_eq!(c.loss.to_string(), "1%");
/// assert!(c.needs_netem());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Conditions {
    /// `rate=10mbit`: at most this many bits per second leave each end.
    pub rate: Option<Rate>,
    /// `delay=20ms`: added to every packet.
    pub delay: Duration,
    /// `jitter=5ms`: the delay varies uniformly within ± this (packets may overtake each other,
    /// as with netem).
    pub jitter: Duration,
    /// `loss=1%`: packets dropped at random.
    pub loss: Percent,
    /// `duplicate=1%`: packets sent twice.
    pub duplicate: Percent,
    /// `reorder=5%`: packets sent at once, without the delay, so they overtake those before them
    /// (netem's `reorder`; needs a `delay`).
    pub reorder: Percent,
}

/// Condition option names, in the order the help text lists them.
pub const CONDITION_OPTIONS: [&str; 6] = ["rate", "delay", "jitter", "loss", "duplicate", "reorder"];

/// Why a condition option was rejected: a message and, when useful, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptionError {
    pub message: String,
    pub help: Option<String>,
}

impl OptionError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> OptionError {
        OptionError { message: message.into(), help: Some(help.into()) }
    }
}

impl Conditions {
    /// No condition at all: the link is a plain veth pair.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Whether anything beyond `rate` is set: delay, jitter, loss, duplicate or reorder (what
    /// netem, or the userspace path where the kernel has no netem, provides).
    pub fn needs_netem(&self) -> bool {
        Conditions { rate: None, ..*self } != Conditions::default()
    }

    /// Sets the condition `key` from its value text; `None` when `key` is not a condition.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Option<Result<(), OptionError>> {
        let r = match key {
            "rate" => parse_rate(value).map(|r| self.rate = Some(r)),
            "delay" => parse_delay(key, value).map(|d| self.delay = d),
            "jitter" => parse_delay(key, value).map(|d| self.jitter = d),
            "loss" => parse_percent(key, value).map(|p| self.loss = p),
            "duplicate" => parse_percent(key, value).map(|p| self.duplicate = p),
            "reorder" => parse_percent(key, value).map(|p| self.reorder = p),
            _ => return None,
        };
        Some(r)
    }

    /// The rules between conditions, checked once all are set.
    pub(crate) fn check(&self) -> Result<(), OptionError> {
        if self.delay.is_zero() {
            if !self.jitter.is_zero() {
                return Err(OptionError::new("`jitter` needs a `delay`", "e.g. `[delay=20ms, jitter=5ms]`"));
            }
            if !self.reorder.is_zero() {
                return Err(OptionError::new(
                    "`reorder` needs a `delay`",
                    "reordered packets are the ones sent without the delay: e.g. `[delay=10ms, reorder=5%]`",
                ));
            }
        }
        if self.jitter > self.delay {
            return Err(OptionError::new(
                format!("jitter {} is larger than the delay {}", Ms(self.jitter), Ms(self.delay)),
                "a packet's delay is `delay` ± `jitter`, never negative: make the jitter at most the delay",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Conditions {
    /// The option list that declares these conditions, e.g. `rate=10mbit, delay=20ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.rate {
            parts.push(format!("rate={r}"));
        }
        for (name, d) in [("delay", self.delay), ("jitter", self.jitter)] {
            if !d.is_zero() {
                parts.push(format!("{name}={}", Ms(d)));
            }
        }
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate), ("reorder", self.reorder)] {
            if !p.is_zero() {
                parts.push(format!("{name}={p}"));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// The options of one link or bridge member: `mtu=1400, delay=20ms, loss=1%`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LinkOptions {
    pub mtu: Option<u32>,
    pub conditions: Conditions,
}

/// Parses a link's option list without the brackets, as `Link::set` takes it at run time:
/// the same options, values and messages as in a topology.
///
/// ```
/// let o = netns_test_topology::parse_link_options("delay=50ms, loss=2%").unwrap();
/// assert_eq!(o.conditions.to_string(), "delay=50ms, loss=2%");
/// let e = netns_test_topology::parse_link_options("loss=101%").unwrap_err();
/// assert_eq!(e.0[0].message, "loss 101% is more than 100%");
/// ```
pub fn parse_link_options(text: &str) -> Result<LinkOptions, crate::Errors> {
    let (mtu, conditions) = crate::parse::link_options(text)?;
    Ok(LinkOptions { mtu, conditions })
}

/// A rate in bits per second: `10mbit`, `512kbit`, `1gbit`, `9600bit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u64);

impl Rate {
    pub fn bits_per_sec(self) -> u64 {
        self.0
    }

    pub fn bytes_per_sec(self) -> u64 {
        self.0 / 8
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n % 1_000_000_000 == 0 => write!(f, "{}gbit", n / 1_000_000_000),
            n if n % 1_000_000 == 0 => write!(f, "{}mbit", n / 1_000_000),
            n if n % 1_000 == 0 => write!(f, "{}kbit", n / 1_000),
            n => write!(f, "{n}bit"),
        }
    }
}

/// A probability written as a percentage (`1%`, `0.5%`), kept in millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

impl Percent {
    pub const ZERO: Percent = Percent(0);
    const ONE_HUNDRED: u32 = 1_000_000;

    /// `percent` (0.0..=100.0), rounded to millionths.
    pub fn new(percent: f64) -> Percent {
        Percent((percent.clamp(0.0, 100.0) * 10_000.0).round() as u32)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// As a probability in 0.0..=1.0.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / f64::from(Self::ONE_HUNDRED)
    }

    /// As netem's scale, where `u32::MAX` is 100 %, rounded as `tc` rounds.
    pub fn as_u32_scale(self) -> u32 {
        let hundred = u64::from(Self::ONE_HUNDRED);
        ((u64::from(self.0) * u64::from(u32::MAX) + hundred / 2) / hundred) as u32
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 10_000, self.0 % 10_000);
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let frac = format!("{frac:04}");
            write!(f, "{whole}.{}%", frac.trim_end_matches('0'))
        }
    }
}

/// A duration shown the way it is written in options: `20ms`, `1500us`, `2s`.
struct Ms(Duration);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        match us {
            us if us % 1_000_000 == 0 && us > 0 => write!(f, "{}s", us / 1_000_000),
            us if us % 1_000 == 0 => write!(f, "{}ms", us / 1_000),
            us => write!(f, "{us}us"),
        }
    }
}

/// A decimal number with at most `max_frac` digits after the point, scaled by 10^`max_frac`.
fn decimal(text: &str, max_frac: u32) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > max_frac as usize || text.ends_with('.') {
        return None;
    }
    let scale = 10u64.pow(max_frac);
    let frac_scaled =
        if frac.is_empty() { 0 } else { frac.parse::<u64>().ok()? * 10u64.pow(max_frac - frac.len() as u32) };
    int.parse::<u64>().ok()?.checked_mul(scale)?.checked_add(frac_scaled)
}

/// Splits `12.5ms` into `("12.5", "ms")`.
fn number_and_unit(text: &str) -> (&str, &str) {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    text.split_at(split)
}

/// The longest delay or jitter accepted: netem's own limit is far beyond any test's patience.
const MAX_DELAY: Duration = Duration::from_secs(60);

fn parse_delay(key: &str, text: &str) -> Result<Duration, OptionError> {
    let (n, unit) = number_and_unit(text);
    let per_unit_us = match unit {
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        _ => {
            return Err(OptionError::new(
                format!("invalid {key} `{text}`: expected a duration"),
                format!("write a number and a unit `us`, `ms` or `s`, e.g. `{key}=20ms`"),
            ))
        }
    };
    let us = decimal(n, 3).map(|milli| milli * per_unit_us / 1_000);
    match us {
        None => Err(OptionError::new(
            format!("invalid {key} `{text}`: expected a duration"),
            format!("write a number and a unit `us`, `ms` or `s`, e.g. `{key}=20ms`"),
        )),
        Some(us) if Duration::from_micros(us) > MAX_DELAY => {
            Err(OptionError::new(format!("{key} {text} is too long"), format!("at most {}", Ms(MAX_DELAY))))
        }
        Some(us) => Ok(Duration::from_micros(us)),
    }
}

fn parse_percent(key: &str, text: &str) -> Result<Percent, OptionError> {
    let Some(n) = text.strip_suffix('%') else {
        return Err(OptionError::new(
            format!("invalid {key} `{text}`: expected a percentage"),
            format!("write it with `%`, e.g. `{key}=1%` or `{key}=0.5%`"),
        ));
    };
    match decimal(n, 4) {
        None => Err(OptionError::new(
            format!("invalid {key} `{text}`: expected a percentage"),
            format!("a number from 0 to 100 with at most 4 decimals and `%`, e.g. `{key}=0.5%`"),
        )),
        Some(v) if v > 100 * 10_000 => {
            Err(OptionError::new(format!("{key} {text} is more than 100%"), "a percentage is at most `100%`"))
        }
        Some(v) => Ok(Percent(v as u32)),
    }
}

fn parse_rate(text: &str) -> Result<Rate, OptionError> {
    let (n, unit) = number_and_unit(text);
    let lower = unit.to_ascii_lowercase();
    let per_unit = match lower.as_str() {
        "bit" => 1,
        "kbit" => 1_000,
        "mbit" => 1_000_000,
        "gbit" => 1_000_000_000,
        "bps" | "kbps" | "mbps" | "gbps" => {
            let bits = &lower[..lower.len() - 2];
            return Err(OptionError::new(
                format!("ambiguous rate unit `{unit}`"),
                format!(
                    "write bits per second: `{n}{bits}it` (tc reads `{unit}` as bytes per second, i.e. 8 times \
                     `{n}{bits}it`)"
                ),
            ));
        }
        _ => {
            return Err(OptionError::new(
                format!("invalid rate `{text}`: expected bits per second"),
                "write a number and a unit `bit`, `kbit`, `mbit` or `gbit`, e.g. `rate=10mbit`",
            ))
        }
    };
    let bits = decimal(n, 3).and_then(|milli| milli.checked_mul(per_unit)).map(|b| b / 1_000);
    match bits {
        None => Err(OptionError::new(
            format!("invalid rate `{text}`: expected bits per second"),
            "write a number and a unit `bit`, `kbit`, `mbit` or `gbit`, e.g. `rate=10mbit`",
        )),
        Some(b) if b < 8_000 => Err(OptionError::new(format!("rate {text} is too slow"), "at least `8kbit`")),
        // tbf's 32-bit rate field with the 64-bit extension: 2^64 bytes/s; keep it sane.
        Some(b) if b > 100_000_000_000 => {
            Err(OptionError::new(format!("rate {text} is too fast"), "at most `100gbit`"))
        }
        Some(b) => Ok(Rate(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, value: &str) -> Result<Conditions, String> {
        let mut c = Conditions::default();
        c.set(key, value).expect("a condition").map_err(|e| e.message)?;
        Ok(c)
    }

    #[test]
    fn values() {
        assert_eq!(set("rate", "10mbit").unwrap().rate, Some(Rate(10_000_000)));
        assert_eq!(set("rate", "1.5gbit").unwrap().rate, Some(Rate(1_500_000_000)));
        assert_eq!(set("delay", "20ms").unwrap().delay, Duration::from_millis(20));
        assert_eq!(set("delay", "1.5ms").unwrap().delay, Duration::from_micros(1500));
        assert_eq!(set("delay", "250us").unwrap().delay, Duration::from_micros(250));
        assert_eq!(set("jitter", "1s").unwrap().jitter, Duration::from_secs(1));
        assert_eq!(set("loss", "1%").unwrap().loss, Percent(10_000));
        assert_eq!(set("loss", "0.25%").unwrap().loss.to_string(), "0.25%");
        assert_eq!(set("loss", "100%").unwrap().loss.fraction(), 1.0);
        assert_eq!(Percent::new(100.0).as_u32_scale(), u32::MAX);
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        assert_eq!(set("loss", "101%").unwrap_err(), "loss 101% is more than 100%");
        assert_eq!(set("loss", "1").unwrap_err(), "invalid loss `1`: expected a percentage");
        assert_eq!(set("rate", "fast").unwrap_err(), "invalid rate `fast`: expected bits per second");
        assert_eq!(set("rate", "10mbps").unwrap_err(), "ambiguous rate unit `mbps`");
        assert_eq!(set("rate", "1bit").unwrap_err(), "rate 1bit is too slow");
        assert_eq!(set("delay", "20").unwrap_err(), "invalid delay `20`: expected a duration");
        assert_eq!(set("delay", "1.2345ms").unwrap_err(), "invalid delay `1.2345ms`: expected a duration");
        assert_eq!(set("delay", "2m").unwrap_err(), "invalid delay `2m`: expected a duration");
        assert_eq!(set("delay", "61s").unwrap_err(), "delay 61s is too long");
        assert_eq!(set("jitter", ".5ms").unwrap_err(), "invalid jitter `.5ms`: expected a duration");
        assert!(Conditions::default().set("mtu", "1400").is_none());
    }

    #[test]
    fn rules_between_conditions() {
        let mut c = set("jitter", "5ms").unwrap();
        assert_eq!(c.check().unwrap_err().message, "`jitter` needs a `delay`");
        c.set("delay", "2ms").unwrap().unwrap();
        assert_eq!(c.check().unwrap_err().message, "jitter 5ms is larger than the delay 2ms");
        c.set("delay", "20ms").unwrap().unwrap();
        assert!(c.check().is_ok());
        assert_eq!(set("reorder", "5%").unwrap().check().unwrap_err().message, "`reorder` needs a `delay`");
    }

    #[test]
    fn display_round_trips() {
        let mut c = Conditions::default();
        for (k, v) in [("rate", "10mbit"), ("delay", "20ms"), ("jitter", "500us"), ("loss", "0.5%"), ("reorder", "5%")]
        {
            c.set(k, v).unwrap().unwrap();
        }
        assert_eq!(c.to_string(), "rate=10mbit, delay=20ms, jitter=500us, loss=0.5%, reorder=5%");
        assert!(c.needs_netem() && !Conditions { rate: c.rate, ..Default::default() }.needs_netem());
    }
}
