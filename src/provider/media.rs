//! Media types of inline (base64) files: the AI SDK's `detectMediaType`
//! signature tables (image, PDF, audio; video only matters for errors) and
//! its media type string helpers.

/// A top-level media type with a signature table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopLevel {
    Image,
    Audio,
    Video,
    Application,
}

impl TopLevel {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(Self::Image),
            "audio" => Some(Self::Audio),
            "video" => Some(Self::Video),
            "application" => Some(Self::Application),
            _ => None,
        }
    }
}

/// `None` is a wildcard byte.
type Signature = (&'static str, &'static [Option<u8>]);

macro_rules! sig {
    ($mt:literal: $($b:tt),*) => { ($mt, &[$(sig!(@ $b)),*]) };
    (@ _) => { None };
    (@ $b:literal) => { Some($b) };
}

const IMAGE: &[Signature] = &[
    sig!("image/gif": 71, 73, 70, 56, 55, 97),
    sig!("image/gif": 71, 73, 70, 56, 57, 97),
    sig!("image/png": 137, 80, 78, 71),
    sig!("image/jpeg": 255, 216),
    sig!("image/webp": 82, 73, 70, 70, _, _, _, _, 87, 69, 66, 80),
    sig!("image/bmp": 66, 77, _, _, _, _, 0, 0, 0, 0),
    sig!("image/tiff": 73, 73, 42, 0),
    sig!("image/tiff": 77, 77, 0, 42),
    sig!("image/avif": 0, 0, 0, _, 102, 116, 121, 112, 97, 118, 105, 102),
    sig!("image/heic": 0, 0, 0, _, 102, 116, 121, 112, 104, 101, 105, 99),
];
const DOCUMENT: &[Signature] = &[sig!("application/pdf": 37, 80, 68, 70)];
const AUDIO: &[Signature] = &[
    sig!("audio/aac": 255, 240),
    sig!("audio/aac": 255, 241),
    sig!("audio/aac": 255, 248),
    sig!("audio/aac": 255, 249),
    sig!("audio/mpeg": 255, 251),
    sig!("audio/mpeg": 255, 250),
    sig!("audio/mpeg": 255, 243),
    sig!("audio/mpeg": 255, 242),
    sig!("audio/mpeg": 255, 227),
    sig!("audio/mpeg": 255, 226),
    sig!("audio/wav": 82, 73, 70, 70, _, _, _, _, 87, 65, 86, 69),
    sig!("audio/ogg": 79, 103, 103, 83),
    sig!("audio/flac": 102, 76, 97, 67),
    sig!("audio/aac": 64, 21, 0, 0),
    sig!("audio/webm": 26, 69, 223, 163),
    sig!("audio/mp4": 0, 0, 0, _, 102, 116, 121, 112),
];
const VIDEO: &[Signature] = &[
    sig!("video/mp4": 0, 0, 0, _, 102, 116, 121, 112),
    sig!("video/webm": 26, 69, 223, 163),
    sig!("video/quicktime": 0, 0, 0, 20, 102, 116, 121, 112, 113, 116),
    sig!("video/x-msvideo": 82, 73, 70, 70),
];

const SNIFF_BYTES: usize = 18;
const ID3_SCAN_BYTES: usize = 131_084;

/// The media type of base64 `data` by its leading bytes, among the
/// signatures of `top` (all of them, audio without mp4, for `None`).
pub(crate) fn detect_media_type(data: &str, top: Option<TopLevel>) -> Option<&'static str> {
    let tables: &[&[Signature]] = match top {
        Some(TopLevel::Image) => &[IMAGE],
        Some(TopLevel::Audio) => &[AUDIO],
        Some(TopLevel::Video) => &[VIDEO],
        Some(TopLevel::Application) => &[DOCUMENT],
        None => &[IMAGE, DOCUMENT, &AUDIO[..AUDIO.len() - 1], VIDEO],
    };
    let mut bytes = decode_prefix(data, SNIFF_BYTES)?;
    if bytes.len() > 10 && bytes.starts_with(b"ID3") {
        let size = (bytes[6] as usize & 127) << 21
            | (bytes[7] as usize & 127) << 14
            | (bytes[8] as usize & 127) << 7
            | (bytes[9] as usize & 127);
        let all = decode_prefix(data, ID3_SCAN_BYTES)?;
        bytes = all.get(size + 10..).map(<[u8]>::to_vec).unwrap_or_default();
    }
    tables.iter().flat_map(|t| t.iter()).find_map(|(media_type, prefix)| {
        let matches = bytes.len() >= prefix.len() && prefix.iter().zip(&bytes).all(|(p, b)| p.is_none_or(|p| p == *b));
        matches.then_some(*media_type)
    })
}

/// `convertBase64ToUint8Array(data.substring(0, ceil(max / 3) * 4))`,
/// truncated to `max` bytes; `None` where `atob` would throw.
fn decode_prefix(data: &str, max: usize) -> Option<Vec<u8>> {
    let max_chars = max.div_ceil(3) * 4;
    let prefix: String = data.chars().take(max_chars).collect();
    let mut bytes = atob(&prefix.replace('-', "+").replace('_', "/"))?;
    bytes.truncate(max);
    Some(bytes)
}

/// The WHATWG forgiving-base64 decode.
fn atob(s: &str) -> Option<Vec<u8>> {
    let mut chars: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')).collect();
    if chars.len() % 4 == 0 {
        for _ in 0..2 {
            if chars.last() == Some(&b'=') {
                chars.pop();
            }
        }
    }
    if chars.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(chars.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in chars {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `image/png` -> `image`; a type without `/` is its own top level.
pub(crate) fn top_level_media_type(media_type: &str) -> &str {
    media_type.split('/').next().unwrap_or("")
}

/// `type/subtype` with a non-empty, non-wildcard subtype.
pub(crate) fn is_full_media_type(media_type: &str) -> bool {
    media_type.split_once('/').is_some_and(|(_, sub)| !sub.is_empty() && sub != "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_images_pdf_and_audio() {
        assert_eq!(detect_media_type("iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB", Some(TopLevel::Image)), Some("image/png"));
        assert_eq!(detect_media_type("/9j/4AAQSkZJRgABAQ", Some(TopLevel::Image)), Some("image/jpeg"));
        assert_eq!(detect_media_type("R0lGODlhAQABAIAAAP", Some(TopLevel::Image)), Some("image/gif"));
        assert_eq!(detect_media_type("UklGRiQAAABXRUJQVlA4", Some(TopLevel::Image)), Some("image/webp"));
        assert_eq!(detect_media_type("JVBERi0xLjQK", Some(TopLevel::Image)), None);
        assert_eq!(detect_media_type("JVBERi0xLjQK", Some(TopLevel::Application)), Some("application/pdf"));
        assert_eq!(detect_media_type("UklGRiQAAABXQVZFZm10", Some(TopLevel::Audio)), Some("audio/wav"));
        // An ID3 tag of 0 bytes, then an MPEG frame header.
        assert_eq!(detect_media_type("SUQzBAAAAAAAAP/7kGQAAAAAAAAAAAAA", Some(TopLevel::Audio)), Some("audio/mpeg"));
        assert_eq!(detect_media_type("not base64!", Some(TopLevel::Image)), None);
    }

    #[test]
    fn media_type_helpers() {
        assert_eq!(top_level_media_type("image/png"), "image");
        assert_eq!(top_level_media_type("image"), "image");
        assert!(is_full_media_type("image/png"));
        assert!(!is_full_media_type("image/*"));
        assert!(!is_full_media_type("image/"));
        assert!(!is_full_media_type("image"));
    }
}
