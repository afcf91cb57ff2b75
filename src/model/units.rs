//! Sizes (`5G`, `500M`, `10GiB`) read from the command line, and durations and sizes
//! written for people (durations are read by [`crate::model::duration`]).

/// Bytes in a size such as `5G`, `500M`, `1.5T` or `10GiB`. K, M, G and T are powers of
/// 1024 whether written `G`, `GB` or `GiB` (as PostgreSQL and `df -h` count); no unit means bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid =
        |why: &str| format!("invalid size {text:?}: {why} (examples: 5G, 500M, 10GiB, 1048576)");
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let amount: f64 = number
        .parse()
        .map_err(|_| invalid("it must start with a number"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let power = match unit {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        _ => return Err(invalid("unknown unit (use K, M, G, T or P)")),
    };
    let bytes = amount * 1024f64.powi(power);
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(invalid("too large"));
    }
    Ok(bytes.round() as u64)
}

/// 93600 -> "1d 2h"; two units at most, for people and messages.
pub fn format_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let seconds = seconds.unsigned_abs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |left, &(size, name)| {
            let amount = *left / size;
            *left %= size;
            Some((amount, name))
        })
        .skip_while(|(amount, _)| *amount == 0)
        .take(2)
        .filter(|(amount, _)| *amount > 0)
        .map(|(amount, name)| format!("{amount}{name}"))
        .collect();
    if parts.is_empty() {
        "0s".to_string()
    } else {
        format!("{sign}{}", parts.join(" "))
    }
}

/// 1536 -> "1.5 KiB".
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::{format_duration, parse_size};

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        for (text, bytes) in [
            ("1048576", 1_048_576),
            ("500M", 500 << 20),
            ("5G", 5 << 30),
            ("5GB", 5 << 30),
            ("10GiB", 10 << 30),
            ("10 gib", 10 << 30),
            ("1.5T", 3 << 39),
            ("2k", 2048),
            ("7B", 7),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_sizes_say_why() {
        for (text, why) in [
            ("G", "start with a number"),
            ("5X", "unknown unit"),
            ("5GG", "unknown unit"),
            ("1.2.3G", "start with a number"),
            ("99999999P", "too large"),
        ] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains(why) && err.contains("5G"), "{text}: {err}");
        }
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(42), "42s");
        assert_eq!(format_duration(93_600), "1d 2h");
        assert_eq!(format_duration(3_600), "1h");
        assert_eq!(format_duration(3_661), "1h 1m");
        assert_eq!(format_duration(86_400 + 59), "1d");
        assert_eq!(format_duration(-120), "-2m");
    }
}
