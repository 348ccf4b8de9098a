//! S2 command records (PROTOCOL.md §5.7 "Record kinds", §7.5): a record
//! whose first header has an empty name is a command, named by that
//! header's value. `trim` drops every record before a seq; `fence` sets the
//! stream's fencing token.
//!
//! Record bodies are UTF-8 `String`s in this crate (the S2 JSON API with
//! `S2-Format: raw`), but S2 defines the trim body as 8 bytes, big-endian,
//! which is not always valid UTF-8. A trim body is therefore accepted as:
//! - a decimal seq (`"20"`): this crate's own form; or
//! - 8 bytes, big-endian, when they happen to be valid UTF-8 (every byte
//!   below 0x80, e.g. `"\u0000…\u0014"` in JSON) — what the raw JSON API
//!   would carry.
//!
//! A body of 1-20 ASCII digits is always read as decimal: 8 digit bytes read
//! big-endian would name a seq above 3.4·10^18, never a real one.
//! [`decode_base64_format`] turns an `S2-Format: base64` append (binary
//! bodies, e.g. a real trim) into the raw form, rewriting trim bodies as
//! decimal.

use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::protocol::record::{AppendInput, AppendRecord, Header};

/// Longest fencing token S2 accepts, bytes.
pub const FENCING_TOKEN_MAX: usize = 36;

const BASE64: GeneralPurpose =
    GeneralPurpose::new(&STANDARD, GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent));

/// A parsed command record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Drop records before this seq.
    Trim(u64),
    /// Set the fencing token.
    Fence(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command records carry exactly one header")]
    ExtraHeaders,
    #[error("unknown command `{0}`")]
    Unknown(String),
    #[error("trim body must name a seq: 8 bytes big-endian or a decimal number")]
    TrimBody,
    #[error("fencing token must be at most {FENCING_TOKEN_MAX} bytes")]
    FenceBody,
    #[error("invalid base64 in record {0}")]
    Base64(usize),
    #[error("record {0}: binary headers and bodies are not supported, only UTF-8")]
    Binary(usize),
}

/// Whether a record is a command (its first header name is empty).
pub fn is_command(headers: &[Header]) -> bool {
    headers.first().is_some_and(|(name, _)| name.is_empty())
}

/// Parses a command record; `Ok(None)` for any other record.
pub fn parse_command(headers: &[Header], body: &str) -> Result<Option<Command>, CommandError> {
    if !is_command(headers) {
        return Ok(None);
    }
    if headers.len() != 1 {
        return Err(CommandError::ExtraHeaders);
    }
    match headers[0].1.as_str() {
        "trim" => parse_trim_body(body).map(|seq| Some(Command::Trim(seq))).ok_or(CommandError::TrimBody),
        "fence" if body.len() <= FENCING_TOKEN_MAX => Ok(Some(Command::Fence(body.to_string()))),
        "fence" => Err(CommandError::FenceBody),
        other => Err(CommandError::Unknown(other.to_string())),
    }
}

/// The seq a trim body names (decimal, or 8 bytes big-endian).
pub fn parse_trim_body(body: &str) -> Option<u64> {
    if (1..=20).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_digit()) {
        return body.parse().ok();
    }
    crate::protocol::record::parse_trim_command_body(body.as_bytes())
}

/// The body of a trim command in this crate's form (decimal).
pub fn trim_body(seq: u64) -> String {
    seq.to_string()
}

/// Decodes an append sent with `S2-Format: base64` (header names, values
/// and bodies base64-encoded) into the raw form records are stored in.
/// Text must be valid UTF-8; a trim command's 8-byte body becomes decimal.
pub fn decode_base64_format(input: AppendInput) -> Result<AppendInput, CommandError> {
    let records = input
        .records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let bytes = |s: &str| BASE64.decode(s).map_err(|_| CommandError::Base64(i));
            let text = |b: Vec<u8>| String::from_utf8(b).map_err(|_| CommandError::Binary(i));
            let headers = record
                .headers
                .iter()
                .map(|(n, v)| Ok((text(bytes(n)?)?, text(bytes(v)?)?)))
                .collect::<Result<Vec<Header>, CommandError>>()?;
            let body = bytes(&record.body)?;
            let body = if is_command(&headers) && headers[0].1 == "trim" {
                let seq: [u8; 8] = body.as_slice().try_into().map_err(|_| CommandError::TrimBody)?;
                trim_body(u64::from_be_bytes(seq))
            } else {
                text(body)?
            };
            Ok(AppendRecord { timestamp: record.timestamp, headers, body })
        })
        .collect::<Result<_, _>>()?;
    Ok(AppendInput { records, ..input })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::record::trim_command_headers;

    #[test]
    fn trim_bodies_in_both_forms() {
        let h = trim_command_headers();
        assert_eq!(parse_command(&h, "20"), Ok(Some(Command::Trim(20))));
        assert_eq!(parse_command(&h, "12345678"), Ok(Some(Command::Trim(12_345_678))));
        let raw = String::from_utf8(20u64.to_be_bytes().to_vec()).unwrap();
        assert_eq!(parse_command(&h, &raw), Ok(Some(Command::Trim(20))));
        // What the JSON API carries for that body.
        let json: crate::protocol::record::AppendRecord =
            serde_json::from_str(r#"{"headers":[["","trim"]],"body":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0014"}"#)
                .unwrap();
        assert_eq!(parse_command(&json.headers, &json.body), Ok(Some(Command::Trim(20))));
        for bad in ["", "x", "-1", "1.5", "123456789012345678901", "\u{0}\u{0}\u{0}"] {
            assert_eq!(parse_command(&h, bad), Err(CommandError::TrimBody), "{bad:?}");
        }
    }

    #[test]
    fn other_commands_and_non_commands() {
        assert_eq!(parse_command(&[], "x"), Ok(None));
        assert_eq!(parse_command(&[("trigger-control".into(), "turn-complete".into())], ""), Ok(None));
        assert_eq!(parse_command(&[(String::new(), "fence".into())], "tok"), Ok(Some(Command::Fence("tok".into()))));
        assert_eq!(parse_command(&[(String::new(), "fence".into())], &"x".repeat(37)), Err(CommandError::FenceBody));
        assert_eq!(parse_command(&[(String::new(), "nope".into())], ""), Err(CommandError::Unknown("nope".into())));
        let two = vec![(String::new(), "trim".into()), ("a".into(), "b".into())];
        assert_eq!(parse_command(&two, "1"), Err(CommandError::ExtraHeaders));
    }

    #[test]
    fn base64_format_decodes_and_normalizes_trim() {
        let input: AppendInput = serde_json::from_value(serde_json::json!({
            "records": [
                { "headers": [["", "dHJpbQ=="]], "body": BASE64.encode(200u64.to_be_bytes()) },
                { "headers": [["dHJpZ2dlci1jb250cm9s", "dHVybi1jb21wbGV0ZQ"]], "body": "" },
                { "body": "eyJhIjoxfQ==", "timestamp": 5 }
            ],
            "match_seq_num": 3
        }))
        .unwrap();
        let out = decode_base64_format(input).unwrap();
        assert_eq!(out.match_seq_num, Some(3));
        assert_eq!(out.records[0].headers, trim_command_headers());
        assert_eq!(out.records[0].body, "200");
        assert_eq!(out.records[1].headers, vec![("trigger-control".into(), "turn-complete".into())]);
        assert_eq!(out.records[2].body, r#"{"a":1}"#);
        assert_eq!(out.records[2].timestamp, Some(5));

        let binary = AppendInput { records: vec![AppendRecord::data(BASE64.encode([0xff, 0xfe]))], ..Default::default() };
        assert_eq!(decode_base64_format(binary), Err(CommandError::Binary(0)));
        let bad = AppendInput { records: vec![AppendRecord::data("!!".into())], ..Default::default() };
        assert_eq!(decode_base64_format(bad), Err(CommandError::Base64(0)));
        let short_trim = AppendInput {
            records: vec![AppendRecord {
                headers: vec![(String::new(), "dHJpbQ".into())],
                body: BASE64.encode([1]),
                timestamp: None,
            }],
            ..Default::default()
        };
        assert_eq!(decode_base64_format(short_trim), Err(CommandError::TrimBody));
    }
}
