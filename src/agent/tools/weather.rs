//! The `get_weather` tool: made-up but stable weather, so demos, tests and
//! benchmarks get the same answer for the same city every time with no
//! weather API. The city name is normalized (trimmed, lower-cased, inner
//! whitespace collapsed) and hashed (FNV-1a, 64-bit); the hash picks a
//! temperature from -10 to 35 °C and a condition that fits it. Nothing here
//! is real weather.

use serde_json::{json, Value};

/// The conditions a temperature above freezing can come with.
pub const MILD_CONDITIONS: [&str; 8] =
    ["sunny", "partly cloudy", "cloudy", "light rain", "rain", "thunderstorms", "fog", "windy"];
/// The conditions at 2 °C and below.
pub const COLD_CONDITIONS: [&str; 4] = ["clear", "cloudy", "fog", "snow"];

fn normalize(city: &str) -> String {
    city.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// `{city, temperatureC, condition}` for a city (its name as given, trimmed).
pub fn weather(city: &str) -> Value {
    let hash = fnv1a(&normalize(city));
    let temperature = (hash % 46) as i64 - 10;
    let pick = (hash >> 32) as usize;
    let condition = if temperature <= 2 {
        COLD_CONDITIONS[pick % COLD_CONDITIONS.len()]
    } else {
        MILD_CONDITIONS[pick % MILD_CONDITIONS.len()]
    };
    json!({ "city": city.trim(), "temperatureC": temperature, "condition": condition })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_city_gets_the_same_weather() {
        let a = weather("Paris");
        assert_eq!(a["city"], "Paris");
        let b = weather("  paris ");
        assert_eq!((&a["temperatureC"], &a["condition"]), (&b["temperatureC"], &b["condition"]));
        assert_eq!(b["city"], "paris");
        assert_eq!(weather("New   York")["temperatureC"], weather("new york")["temperatureC"]);
    }

    #[test]
    fn plausible_values() {
        let mut temperatures = std::collections::BTreeSet::new();
        for city in ["Paris", "Berlin", "Tokyo", "Lagos", "Oslo", "Lima", "Cairo", "Perth", "Quito", "Reykjavík"] {
            let w = weather(city);
            let t = w["temperatureC"].as_i64().unwrap();
            assert!((-10..=35).contains(&t), "{city}: {t}");
            let c = w["condition"].as_str().unwrap();
            if t <= 2 {
                assert!(COLD_CONDITIONS.contains(&c), "{city}: {c} at {t}");
            } else {
                assert!(MILD_CONDITIONS.contains(&c), "{city}: {c} at {t}");
            }
            temperatures.insert(t);
        }
        assert!(temperatures.len() > 3, "cities should differ: {temperatures:?}");
    }
}
