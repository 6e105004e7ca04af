//! The one duration grammar: `500ms`, `30s`, `2m`. The attribute's `timeout` and the CLI's
//! `--ping-timeout` both read it.

use std::fmt;
use std::time::Duration;

/// Parses a duration written as a whole number and a unit: `ms`, `s`, `m` or `min`.
///
/// ```
/// use netns_test_topology::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("1.5s").is_err());
/// assert!(parse_duration("0s").is_err());
/// ```
///
/// Spaces around the number and the unit are allowed (`"30 s"`). A bare number is rejected: its
/// unit would be a guess. Zero is rejected too: no wait is ever meant to be zero.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or(DurationError::Malformed)?;
    let (n, unit) = s.split_at(split);
    let factor = match unit.trim() {
        _ if n.is_empty() => return Err(DurationError::Malformed),
        "ms" => 1,
        "s" => 1000,
        "m" | "min" => 60_000,
        _ => return Err(DurationError::Malformed),
    };
    // Digits only: the parse fails on overflow alone.
    let ms = n.parse::<u64>().ok().and_then(|n| n.checked_mul(factor));
    match ms {
        None => Err(DurationError::TooLong),
        Some(0) => Err(DurationError::Zero),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

/// Why [`parse_duration`] rejected a text; its `Display` is a complete sentence.
///
/// ```
/// use netns_test_topology::{parse_duration, DurationError};
///
/// assert_eq!(parse_duration("soon"), Err(DurationError::Malformed));
/// assert_eq!(DurationError::Zero.to_string(), "a duration must be longer than zero");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// Not a whole number followed by `ms`, `s`, `m` or `min`.
    Malformed,
    /// Zero.
    Zero,
    /// More milliseconds than a `u64` holds.
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::Malformed => "a duration looks like `500ms`, `30s` or `2m`",
            DurationError::Zero => "a duration must be longer than zero",
            DurationError::TooLong => "that duration is too long",
        })
    }
}

impl std::error::Error for DurationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(parse_duration(" 30 s "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("3min"), Ok(Duration::from_secs(180)));
        for bad in ["", "ms", "10", "-1s", "1h", "1 .5s", "s1"] {
            assert_eq!(parse_duration(bad), Err(DurationError::Malformed), "{bad:?}");
        }
        assert_eq!(parse_duration("0ms"), Err(DurationError::Zero));
        assert_eq!(parse_duration("99999999999999999999s"), Err(DurationError::TooLong));
        assert_eq!(parse_duration("999999999999999999m"), Err(DurationError::TooLong));
    }
}
