//! Job arrays: `requirements.array.values` is `N`, `first:last` or `first:last:step`.
//!
//! Unlike the original, a range never yields a value beyond `last` (`1:9:3` is 1, 4, 7).
//! Children are not stored up front: the parent carries the range, and children are created as
//! the scheduler needs them, the k-th child having index value `first + k·step`.

use crate::error::FieldError;

/// Most children one array may have.
pub const MAX_ARRAY_TASKS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayRange {
    pub first: i64,
    pub last: i64,
    pub step: i64,
}

impl ArrayRange {
    /// Number of children. Computed in 128 bits: the ends may be anywhere in `i64`.
    pub fn len(&self) -> u64 {
        let span = i128::from(self.last) - i128::from(self.first);
        if span < 0 || self.step <= 0 {
            return 0;
        }
        (span / i128::from(self.step) + 1).min(i128::from(u64::MAX)) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index value of the k-th child (0-based; `k < len()` stays within `first..=last`).
    pub fn value(&self, k: u64) -> i64 {
        let v = i128::from(self.first) + i128::from(k) * i128::from(self.step);
        v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// The last value actually produced (≤ `last`).
    pub fn last_value(&self) -> i64 {
        self.value(self.len() - 1)
    }
}

/// Parse an array spec.
pub fn parse(spec: &str) -> Result<ArrayRange, FieldError> {
    let field = "requirements.array.values";
    let bad = |m: String| FieldError::new(field, m);
    let nums: Result<Vec<i64>, _> = spec
        .trim()
        .split(':')
        .map(|p| p.trim().parse::<i64>())
        .collect();
    let nums = nums.map_err(|_| bad(format!("{spec:?}: use N, first:last or first:last:step")))?;
    let (first, last, step) = match nums.as_slice() {
        [n] => (1, *n, 1),
        [a, b] => (*a, *b, 1),
        [a, b, s] => (*a, *b, *s),
        _ => {
            return Err(bad(format!(
                "{spec:?}: use N, first:last or first:last:step"
            )))
        }
    };
    if step <= 0 {
        return Err(bad(format!("{spec:?}: the step must be positive")));
    }
    if last < first {
        return Err(bad(format!("{spec:?}: the last value is before the first")));
    }
    let range = ArrayRange { first, last, step };
    if range.len() > MAX_ARRAY_TASKS {
        return Err(bad(format!("{spec:?}: more than {MAX_ARRAY_TASKS} tasks")));
    }
    Ok(range)
}

/// The reason an array parent ends with when `failed` of its tasks failed (the client
/// recognises it by this text, rebuilt from the parent's `nb_tasks_failed`).
pub fn failed_reason(failed: u64) -> String {
    format!("{failed} of the array's tasks failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_never_pass_last() {
        let cases: &[(&str, Option<Vec<i64>>)] = &[
            ("3", Some(vec![1, 2, 3])),
            ("2:4", Some(vec![2, 3, 4])),
            ("1:9:3", Some(vec![1, 4, 7])),
            ("1:10:3", Some(vec![1, 4, 7, 10])),
            ("5:5", Some(vec![5])),
            ("0", None),
            ("4:2", None),
            ("1:9:0", None),
            ("1:9:-1", None),
            ("a:b", None),
            ("1:2:3:4", None),
            ("1:2000000", None),
            // Found by the fuzzer: the span overflowed i64.
            ("-9223372036854775808:4", None),
            ("-9223372036854775808:9223372036854775807", None),
            (
                "9223372036854775806:9223372036854775807",
                Some(vec![9223372036854775806, 9223372036854775807]),
            ),
        ];
        for (spec, want) in cases {
            let got = parse(spec)
                .ok()
                .map(|r| (0..r.len()).map(|k| r.value(k)).collect::<Vec<_>>());
            assert_eq!(&got, want, "{spec}");
        }
        assert_eq!(parse("1:9:3").unwrap().last_value(), 7);
        assert_eq!(parse("100000").unwrap().len(), 100_000);
    }
}
