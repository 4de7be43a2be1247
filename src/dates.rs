//! Dates and times as news sites write them, to ISO 8601.
//!
//! `22/01/2024`, `2024-01-22`, `lundi 22 janvier 2024`, `1er janvier 2024`,
//! `January 22, 2024`, `22 Jan 2024`; times `20:18`, `20h18`, `20 h 18`,
//! `9h`, `8:05 pm`. Day-first unless the numbers say otherwise
//! (`01/22/2024`).

use std::sync::LazyLock;

use regex::Regex;

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

/// A time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub hour: u32,
    pub minute: u32,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

const MONTHS: &[(&str, u32)] = &[
    ("janvier", 1),
    ("janv", 1),
    ("january", 1),
    ("jan", 1),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fév", 2),
    ("february", 2),
    ("feb", 2),
    ("mars", 3),
    ("march", 3),
    ("mar", 3),
    ("avril", 4),
    ("avr", 4),
    ("april", 4),
    ("apr", 4),
    ("mai", 5),
    ("may", 5),
    ("juin", 6),
    ("june", 6),
    ("jun", 6),
    ("juillet", 7),
    ("juil", 7),
    ("july", 7),
    ("jul", 7),
    ("août", 8),
    ("aout", 8),
    ("august", 8),
    ("aug", 8),
    ("septembre", 9),
    ("sept", 9),
    ("september", 9),
    ("sep", 9),
    ("octobre", 10),
    ("oct", 10),
    ("october", 10),
    ("novembre", 11),
    ("nov", 11),
    ("november", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("dec", 12),
    ("december", 12),
];

fn month(name: &str) -> Option<u32> {
    let name = name.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

fn valid(year: u32, month: u32, day: u32) -> Option<Date> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&day) && (1900..=2200).contains(&year)).then_some(Date {
        year,
        month,
        day,
    })
}

fn full_year(y: u32) -> u32 {
    if y < 100 { 2000 + y } else { y }
}

// ASCII digits (`[0-9]`, not `\d`) and month names rather than any
// letters: the Unicode classes made these regexes cost 45 M instructions to
// compile and to warm their lazy DFAs, on every run's first dates.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9])([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[^0-9]|$)|(?:^|[^0-9])([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4}|[0-9]{2})(?:[^0-9]|$)").unwrap()
});
/// The month names of [`MONTHS`], longest first, as a regex alternation.
fn month_names() -> String {
    let mut names: Vec<&str> = MONTHS.iter().map(|(n, _)| *n).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.join("|")
}
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b)([0-9]{{1,2}})(?:er|st|nd|rd|th)?\s+((?:{})\.?)\s+([0-9]{{4}})(?-u:\b)",
        month_names()
    ))
    .unwrap()
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b)((?:{})\.?)\s+([0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+([0-9]{{4}})(?-u:\b)",
        month_names()
    ))
    .unwrap()
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[^0-9/.:])([0-9]{1,2})\s*(?:[:h]\s*([0-9]{2})|h)(?:\s*(am|pm))?(?:$|[^0-9/])",
    )
    .unwrap()
});

/// The first date written in `text`.
pub fn parse_date(text: &str) -> Option<Date> {
    if let Some(c) = NUMERIC.captures(text) {
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        if let (Some(y), Some(m), Some(d)) = (n(1), n(2), n(3)) {
            return valid(y, m, d);
        }
        let (a, b, y) = (n(4)?, n(5)?, full_year(n(6)?));
        // Day first, unless only month first makes sense.
        return valid(y, b, a).or_else(|| valid(y, a, b));
    }
    if let Some(c) = DAY_MONTH.captures(text)
        && let Some(m) = month(&c[2])
    {
        return valid(c[3].parse().ok()?, m, c[1].parse().ok()?);
    }
    if let Some(c) = MONTH_DAY.captures(text)
        && let Some(m) = month(&c[1])
    {
        return valid(c[3].parse().ok()?, m, c[2].parse().ok()?);
    }
    None
}

/// The first time of day written in `text` (not a part of a date).
pub fn parse_time(text: &str) -> Option<Time> {
    for c in TIME.captures_iter(text) {
        let mut hour: u32 = c[1].parse().ok()?;
        let minute: u32 = c.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
        match c.get(3).map(|m| m.as_str().to_ascii_lowercase()).as_deref() {
            Some("pm") if hour < 12 => hour += 12,
            Some("am") if hour == 12 => hour = 0,
            _ => {}
        }
        if hour < 24 && minute < 60 {
            return Some(Time { hour, minute });
        }
    }
    None
}

/// The first time written after the first date of `text` (so that the
/// day of `14/04/2024 à 09h32` is not read as an hour).
pub fn parse_time_after_date(text: &str) -> Option<Time> {
    let end = [&*NUMERIC, &*DAY_MONTH, &*MONTH_DAY]
        .iter()
        .filter_map(|r| r.find(text).map(|m| m.end()))
        .min()
        .unwrap_or(0);
    parse_time(&text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let cases = [
            ("22/01/2024", Some("2024-01-22")),
            ("22/01/2024 mis à jour: 20:18", Some("2024-01-22")),
            ("Publié le 14/04/2024 à 09h32", Some("2024-04-14")),
            ("2024-01-22T10:00", Some("2024-01-22")),
            ("01/22/2024", Some("2024-01-22")),
            ("3.1.24", Some("2024-01-03")),
            ("lundi 22 janvier 2024", Some("2024-01-22")),
            ("1er janvier 2024", Some("2024-01-01")),
            ("22 janv. 2024", Some("2024-01-22")),
            ("January 22, 2024", Some("2024-01-22")),
            ("22 Jan 2024", Some("2024-01-22")),
            ("31/02/2024", None),
            ("20:18", None),
            ("le 12 mars", None),
            // A number, a word that is no month, a year: passed over.
            ("les 3 fois 2024 et le 5 mars 2024", Some("2024-03-05")),
            ("JANV. 22, 2024", Some("2024-01-22")),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_date(text).map(|d| d.to_string()).as_deref(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn times() {
        let cases = [
            ("20:18", Some("20:18")),
            ("mis à jour: 20:18", Some("20:18")),
            ("à 09h32", Some("09:32")),
            ("à 9 h 05", Some("09:05")),
            ("vers 18h", Some("18:00")),
            ("8:05 pm", Some("20:05")),
            ("22/01/2024", None),
            ("25:61", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_time(text).map(|t| t.to_string()).as_deref(),
                want,
                "{text}"
            );
        }
    }
}
