//! **decode**: input bytes to text, and line ends to `\n`.
//!
//! Order of decisions: a byte order mark wins; then an encoding forced in
//! the config; then UTF-16 without BOM (many NUL bytes in one column);
//! binary files (NUL bytes) are refused; valid UTF-8 is taken as is; bytes
//! that are mostly UTF-8 with a few invalid sequences are UTF-8 with
//! repairs; anything else goes to chardetng's guess of a legacy encoding.
//! Every invalid sequence is recorded as a [`ByteRepair`] (offset, bytes,
//! replacement), never dropped.

use std::sync::Arc;

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::Deserialize;

use crate::config::{Located, Pos};
use crate::document::{ByteRepair, InputInfo};
use crate::edits::{Change, StageCtx};
use crate::stages::{OptionDoc, RuleDoc, RuleInfo, Stage};
use crate::text_index::count_chars;

/// Options of the `decode` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// `auto`, or an encoding label (`windows-1252`, `iso-8859-15`, …)
    /// used for every input that has no byte order mark.
    pub encoding: Option<Located<String>>,
    /// Top-level domain of the sources (`fr`), a hint for guessing legacy
    /// encodings.
    pub tld: Option<Located<String>>,
    /// What to do with byte sequences that are invalid in the encoding:
    /// `repair` (read them as Windows-1252 when that gives letters or
    /// punctuation, else U+FFFD), `replace` (U+FFFD) or `error`.
    pub invalid: InvalidBytes,
    /// Turn CRLF and lone CR line ends into LF.
    pub normalize_line_ends: bool,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            encoding: None,
            tld: None,
            invalid: InvalidBytes::Repair,
            normalize_line_ends: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidBytes {
    Repair,
    Replace,
    Error,
}

/// Why an input could not be read as text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("binary file (NUL byte at offset {offset}), skipped")]
    Binary { offset: usize },
    #[error("invalid {encoding} byte sequence {bytes} at offset {offset}")]
    Invalid {
        encoding: &'static str,
        offset: u64,
        bytes: String,
    },
}

/// Text decoded from bytes, with how it was read.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub text: String,
    pub info: InputInfo,
}

/// The byte-to-text half of the stage, built from [`DecodeConfig`].
#[derive(Clone, Debug)]
pub struct Decoder {
    forced: Option<&'static Encoding>,
    tld: Option<Vec<u8>>,
    invalid: InvalidBytes,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(&DecodeConfig::default()).expect("default decode config is valid")
    }
}

impl DecodeConfig {
    /// The text half of the stage: line ends.
    pub fn line_ends(&self) -> LineEnds {
        LineEnds {
            enabled: self.normalize_line_ends,
            crlf: Arc::from("decode/crlf"),
            cr: Arc::from("decode/cr"),
        }
    }
}

impl Decoder {
    /// Checks the options; an unknown encoding label or a bad domain is an
    /// error, returned with where it was written.
    pub fn new(config: &DecodeConfig) -> Result<Self, (Pos, String)> {
        let forced = match &config.encoding {
            None => None,
            Some(label) => match label.value.trim() {
                "" | "auto" => None,
                name => Some(Encoding::for_label(name.as_bytes()).ok_or_else(|| {
                    (
                        label.pos,
                        format!("unknown encoding `{name}` (expected `auto` or a WHATWG label such as `windows-1252`)"),
                    )
                })?),
            },
        };
        let tld = match &config.tld {
            None => None,
            Some(t) if t.value.trim().is_empty() => None,
            // chardetng panics on anything but a lower-case ASCII label.
            Some(t)
                if t.value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Some(t.value.to_ascii_lowercase().into_bytes())
            }
            Some(t) => {
                return Err((
                    t.pos,
                    format!(
                        "`tld: {}` is not a top-level domain label (letters, digits, hyphens: `fr`)",
                        t.value
                    ),
                ));
            }
        };
        Ok(Decoder {
            forced,
            tld,
            invalid: config.invalid,
        })
    }

    /// A decoder that only accepts UTF-8 (invalid bytes become U+FFFD and
    /// are recorded): what a switched-off `decode` stage does.
    pub fn utf8_only() -> Self {
        Decoder {
            forced: Some(UTF_8),
            tld: None,
            invalid: InvalidBytes::Replace,
        }
    }

    /// Decodes `bytes`.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded, DecodeError> {
        // Fast path, the usual case: UTF-8 without BOM or NUL (so neither
        // UTF-16 nor binary), nothing forced: one validation pass.
        if self.forced.is_none()
            && Encoding::for_bom(bytes).is_none()
            && memchr::memchr(0, bytes).is_none()
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            return Ok(Decoded {
                text: text.to_string(),
                info: InputInfo {
                    encoding: UTF_8.name().to_string(),
                    encoding_source: "utf-8".to_string(),
                    bom: false,
                    bytes: bytes.len() as u64,
                    chars: count_chars(bytes),
                    repairs: Vec::new(),
                },
            });
        }
        let (encoding, source, bom_len) = self.choose(bytes)?;
        let body = &bytes[bom_len..];
        let (text, repairs) = if encoding == UTF_8 {
            self.decode_utf8(body, bom_len)?
        } else {
            self.decode_with(encoding, body, bom_len)?
        };
        let info = InputInfo {
            encoding: encoding.name().to_string(),
            encoding_source: source.to_string(),
            bom: bom_len > 0,
            bytes: bytes.len() as u64,
            chars: count_chars(text.as_bytes()),
            repairs,
        };
        Ok(Decoded { text, info })
    }

    fn choose(
        &self,
        bytes: &[u8],
    ) -> Result<(&'static Encoding, &'static str, usize), DecodeError> {
        if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
            return Ok((encoding, "bom", bom_len));
        }
        if let Some(encoding) = self.forced {
            return Ok((encoding, "config", 0));
        }
        if let Some(encoding) = sniff_utf16(bytes) {
            return Ok((encoding, "detected", 0));
        }
        if let Some(offset) = memchr::memchr(0, bytes) {
            return Err(DecodeError::Binary { offset });
        }
        if std::str::from_utf8(bytes).is_ok() || mostly_utf8(bytes) {
            return Ok((UTF_8, "utf-8", 0));
        }
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let encoding = detector.guess(self.tld.as_deref(), chardetng::Utf8Detection::Deny);
        Ok((encoding, "detected", 0))
    }

    /// UTF-8, with each invalid sequence repaired and recorded.
    fn decode_utf8(
        &self,
        body: &[u8],
        offset: usize,
    ) -> Result<(String, Vec<ByteRepair>), DecodeError> {
        if let Ok(text) = std::str::from_utf8(body) {
            return Ok((text.to_string(), Vec::new()));
        }
        let mut text = String::with_capacity(body.len() + 16);
        let mut repairs = Vec::new();
        let mut byte = offset;
        let mut chars = 0;
        for chunk in body.utf8_chunks() {
            text.push_str(chunk.valid());
            chars += count_chars(chunk.valid().as_bytes());
            byte += chunk.valid().len();
            let bad = chunk.invalid();
            if bad.is_empty() {
                continue;
            }
            let replacement = match self.invalid {
                InvalidBytes::Error => {
                    return Err(DecodeError::Invalid {
                        encoding: "UTF-8",
                        offset: byte as u64,
                        bytes: hex(bad),
                    });
                }
                InvalidBytes::Repair => as_windows_1252(bad).unwrap_or_else(|| "\u{FFFD}".into()),
                InvalidBytes::Replace => "\u{FFFD}".into(),
            };
            repairs.push(ByteRepair {
                byte: byte as u64,
                bytes: hex(bad),
                at: chars,
                text: replacement.clone(),
            });
            chars += count_chars(replacement.as_bytes());
            text.push_str(&replacement);
            byte += bad.len();
        }
        Ok((text, repairs))
    }

    /// Any other encoding, through encoding_rs, recording malformed bytes.
    fn decode_with(
        &self,
        encoding: &'static Encoding,
        body: &[u8],
        offset: usize,
    ) -> Result<(String, Vec<ByteRepair>), DecodeError> {
        let mut decoder = encoding.new_decoder_without_bom_handling();
        let cap = decoder
            .max_utf8_buffer_length_without_replacement(body.len())
            .unwrap_or(body.len() * 3 + 16);
        let mut text = String::with_capacity(cap);
        let mut repairs = Vec::new();
        let mut read_total = 0;
        let mut chars = 0;
        loop {
            let before = text.len();
            let (result, read) =
                decoder.decode_to_string_without_replacement(&body[read_total..], &mut text, true);
            chars += count_chars(&text.as_bytes()[before..]);
            read_total += read;
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => text.reserve(body.len() - read_total + 16),
                DecoderResult::Malformed(bad, extra) => {
                    let end = read_total - extra as usize;
                    let start = end - bad as usize;
                    if self.invalid == InvalidBytes::Error {
                        return Err(DecodeError::Invalid {
                            encoding: encoding.name(),
                            offset: (offset + start) as u64,
                            bytes: hex(&body[start..end]),
                        });
                    }
                    // The bytes consumed after the bad ones (`extra`) are
                    // decoded by the next call: the text so far ends right
                    // where the bad bytes were.
                    repairs.push(ByteRepair {
                        byte: (offset + start) as u64,
                        bytes: hex(&body[start..end]),
                        at: chars,
                        text: "\u{FFFD}".into(),
                    });
                    text.push('\u{FFFD}');
                    chars += 1;
                }
            }
        }
        Ok((text, repairs))
    }
}

/// UTF-16 without BOM: text in Latin scripts has a NUL in every other byte.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let (mut even, mut odd) = (0, 0);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let many = (pairs * 2 / 5).max(2); // 40 %
    let few = pairs / 20; // 5 %
    if odd >= many && even <= few {
        Some(UTF_16LE)
    } else if even >= many && odd <= few {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// True when the bytes hold at least as many valid non-ASCII UTF-8
/// characters as invalid sequences: UTF-8 with damage, not a legacy
/// encoding.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    valid >= invalid.max(1)
}

/// The bytes read as Windows-1252, when every one gives a letter or a
/// sign of Western European text (Latin-1 text pasted into a UTF-8 file).
fn as_windows_1252(bytes: &[u8]) -> Option<String> {
    const PLAUSIBLE: &str = "àâäáãåçéèêëíìîïñóòôöõúùûüœæÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜŒÆß«»’‘“”–—…°€£·";
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    text.chars()
        .all(|c| PLAUSIBLE.contains(c))
        .then(|| text.into_owned())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The options of `decode`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "encoding",
        default: "auto",
        doc: "auto, or an encoding label (windows-1252, iso-8859-15, utf-16le…) for inputs without a BOM",
    },
    OptionDoc {
        name: "tld",
        default: "~",
        doc: "top-level domain of the sources (fr): a hint for guessing legacy encodings",
    },
    OptionDoc {
        name: "invalid",
        default: "repair",
        doc: "invalid byte sequences: repair (Windows-1252 letter or U+FFFD), replace (U+FFFD) or error",
    },
    OptionDoc {
        name: "normalize_line_ends",
        default: "true",
        doc: "CRLF and lone CR become LF",
    },
];

/// The rules of the text half of `decode`.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "decode/crlf",
        summary: "Turns a Windows line end (CR LF) into LF: the other stages, and most tools, read lines by LF.",
        example: ("Titre\r\nTexte.\r\n", "Titre\nTexte.\n"),
    },
    RuleDoc {
        id: "decode/cr",
        summary: "Turns a lone CR (the line end of old Mac files) into LF.",
        example: ("Titre\rTexte.", "Titre\nTexte."),
    },
];

/// The text half of `decode`: CRLF and lone CR become LF.
pub struct LineEnds {
    enabled: bool,
    crlf: Arc<str>,
    cr: Arc<str>,
}

impl Stage for LineEnds {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("decode", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        if !self.enabled {
            return;
        }
        let bytes = ctx.text.as_bytes();
        for i in memchr::memchr_iter(b'\r', bytes) {
            if bytes.get(i + 1) == Some(&b'\n') {
                ctx.changes.push(Change::remove(i..i + 1, &self.crlf));
            } else {
                ctx.changes.push(Change::replace(i..i + 1, "\n", &self.cr));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Decoded {
        Decoder::default().decode(bytes).unwrap()
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let d = decode("été".as_bytes());
        assert_eq!(
            (d.text.as_str(), d.info.encoding.as_str()),
            ("été", "UTF-8")
        );
        let d = decode(b"\xEF\xBB\xBFabc");
        assert_eq!(d.text, "abc");
        assert!(d.info.bom);
        assert_eq!(d.info.encoding_source, "bom");
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let le: Vec<u8> = "Bagdad é"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let be: Vec<u8> = "Bagdad é"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend(&le);
        assert_eq!(decode(&with_bom).text, "Bagdad é");
        assert_eq!(decode(&le).info.encoding, "UTF-16LE");
        assert_eq!(decode(&le).text, "Bagdad é");
        assert_eq!(decode(&be).info.encoding, "UTF-16BE");
        assert_eq!(decode(&be).text, "Bagdad é");
    }

    #[test]
    fn legacy_encoding_is_detected() {
        let (bytes, _, _) = WINDOWS_1252
            .encode("L’armée américaine a quitté la région, déclare le général à Téhéran.");
        let d = decode(&bytes);
        assert_eq!(d.info.encoding, "windows-1252");
        assert!(d.text.starts_with("L’armée américaine"));
        assert!(d.info.repairs.is_empty());
    }

    #[test]
    fn invalid_bytes_in_utf8_are_repaired_and_recorded() {
        let mut bytes = "Le général a décidé ".as_bytes().to_vec();
        bytes.push(0xE9); // a Latin-1 é
        bytes.extend(b"t\xFF\xFEfin");
        let d = decode(&bytes);
        assert_eq!(d.info.encoding, "UTF-8");
        assert_eq!(d.text, "Le général a décidé ét\u{FFFD}\u{FFFD}fin");
        assert_eq!(d.info.repairs.len(), 3);
        assert_eq!(d.info.repairs[0].bytes, "e9");
        assert_eq!(d.info.repairs[0].byte, 24);
        assert_eq!(d.info.repairs[0].at, 20);
        assert_eq!(d.info.repairs[1].at, 22);

        let strict = Decoder::new(&DecodeConfig {
            invalid: InvalidBytes::Error,
            ..DecodeConfig::default()
        })
        .unwrap();
        assert!(matches!(
            strict.decode(&bytes),
            Err(DecodeError::Invalid { offset: 24, .. })
        ));
    }

    #[test]
    fn binary_files_are_refused() {
        assert_eq!(
            Decoder::default()
                .decode(b"\x7fELF\x02\x01\x01\x00\x00\x00abc")
                .unwrap_err(),
            DecodeError::Binary { offset: 7 }
        );
    }

    #[test]
    fn forced_encoding_and_bad_labels() {
        let label = |s: &str| {
            Some(Located {
                pos: Pos::default(),
                value: s.to_string(),
            })
        };
        let forced = Decoder::new(&DecodeConfig {
            encoding: label("iso-8859-15"),
            ..DecodeConfig::default()
        })
        .unwrap();
        assert_eq!(forced.decode(b"\xA4").unwrap().text, "€");
        assert!(
            Decoder::new(&DecodeConfig {
                encoding: label("klingon"),
                ..DecodeConfig::default()
            })
            .is_err()
        );
        assert!(
            Decoder::new(&DecodeConfig {
                tld: label("co.uk"),
                ..DecodeConfig::default()
            })
            .is_err()
        );
    }

    #[test]
    fn malformed_legacy_bytes_are_recorded() {
        let forced = Decoder::new(&DecodeConfig {
            encoding: Some(Located {
                pos: Pos::default(),
                value: "utf-16le".into(),
            }),
            ..DecodeConfig::default()
        })
        .unwrap();
        // An unpaired surrogate, then "a".
        let d = forced.decode(&[0x00, 0xD8, 0x61, 0x00]).unwrap();
        assert_eq!(d.text, "\u{FFFD}a");
        assert_eq!(d.info.repairs[0].bytes, "00 d8");
        assert_eq!(d.info.repairs[0].at, 0);
    }

    #[test]
    fn empty_input_is_empty_text() {
        let d = decode(b"");
        assert_eq!(d.text, "");
        assert_eq!(d.info.bytes, 0);
    }
}
