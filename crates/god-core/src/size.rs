//! Sizes and durations as written in configuration and requests.

/// `convert_size_to_int` of the original: decimal multipliers (k=1e3 … T=1e12), case-insensitive.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    if digits.is_empty() {
        return Err(format!(
            "{s:?} is not a size (examples: 10, 5k, 12M, 40G, 2T)"
        ));
    }
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is too large"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "t" => 1_000_000_000_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use k, M, G or T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// A duration such as `7d`, `12h`, `30m`, `3600s` or a bare number of seconds.
pub fn parse_duration_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('d') => (&s[..s.len() - 1], 86_400),
        Some('h') => (&s[..s.len() - 1], 3_600),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('s') => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (examples: 7d, 12h, 30m, 3600s)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_the_original() {
        let cases = [
            ("10", Some(10)),
            ("10k", Some(10_000)),
            ("10K", Some(10_000)),
            ("20M", Some(20_000_000)),
            ("30g", Some(30_000_000_000)),
            ("30T", Some(30_000_000_000_000)),
            ("giga", None),
            ("10s", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input).ok(), want, "{input}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("7d", Some(604_800)),
            ("12h", Some(43_200)),
            ("3600s", Some(3600)),
            ("90", Some(90)),
            ("2m", Some(120)),
            ("x", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration_secs(input).ok(), want, "{input}");
        }
    }
}
