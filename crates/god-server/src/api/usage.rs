//! Per-day usage, of a user (`GET /api/1.0/user/<login>/usage`) or a project
//! (`GET /api/1.0/project/<id>/usage`).

use god_core::api::UsageDay;
use god_store::UsageRecord;
use std::collections::BTreeMap;

/// Group usage records by day, newest first.
pub fn per_day<'a>(records: impl Iterator<Item = &'a UsageRecord>) -> Vec<UsageDay> {
    let mut days: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for r in records {
        let e = days.entry((r.ended / 86_400.0).floor() as i64).or_default();
        e.0 += r.cpu;
        e.1 += r.ram;
        e.2 += r.wall_seconds;
    }
    days.into_iter()
        .rev()
        .map(|(day, (cpu, ram, time))| UsageDay {
            date: civil_date(day),
            cpu,
            ram,
            time,
        })
        .collect()
}

/// `Y_M_D` (no zero padding, as the original) of a day number since the epoch.
fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y}_{m}_{d}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970_1_1");
        assert_eq!(super::civil_date(17_233), "2017_3_8");
    }
}
