//! `lavoir run --jsonl`: a stream filter over JSON Lines documents, in the
//! convention of dolma and datatrove (`id`, `text`, optional `metadata`;
//! other fields pass through untouched, in their order).
//!
//! Each output line is the input record with its text replaced by the
//! clean text and a `lavoir` field holding the annotations (see
//! docs/format.md). Records come out in input order.
//!
//! Reading, cleaning and writing overlap: a reader thread cuts the input
//! into batches, the batches are cleaned in parallel (rayon) one after the
//! other, and a writer thread writes them. At most a few batches are in
//! flight, so memory does not grow with the size of the corpus.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IoSlice, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::document::{CleanDocument, InputInfo, Meta};
use crate::json_writer;
use crate::pipeline::Pipeline;

/// What to do with a line that is not a JSON object with a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// Report it, count it, leave it out of the output, go on.
    #[default]
    Skip,
    /// Report it and stop the run.
    Fail,
}

/// Options of a JSONL run.
#[derive(Clone, Debug)]
pub struct JsonlOptions {
    /// The field holding the text (default `text`).
    pub text_field: String,
    pub on_error: OnError,
    /// `(k, n)`: only records whose index (counted from 0 over all
    /// inputs) is `k - 1` modulo `n`.
    pub shard: Option<(u64, u64)>,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// Records per batch.
    pub batch_records: usize,
    /// Input bytes per batch.
    pub batch_bytes: usize,
    /// Set (by a signal handler) to stop: no more lines are read, the
    /// records in flight are finished, a file output is not created.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for JsonlOptions {
    fn default() -> Self {
        JsonlOptions {
            text_field: "text".into(),
            on_error: OnError::Skip,
            shard: None,
            threads: None,
            batch_records: 512,
            batch_bytes: 4 << 20,
            cancel: None,
        }
    }
}

/// A line that could not be cleaned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// The input it comes from (`-` for standard input).
    pub source: String,
    /// 1-based line number in that input.
    pub line: u64,
    pub message: String,
}

/// Totals of a JSONL run.
#[derive(Clone, Debug, Default)]
pub struct JsonlSummary {
    pub records: u64,
    pub bad: Vec<BadLine>,
    /// Text bytes in and out (the text field only).
    pub text_in: u64,
    pub text_out: u64,
    /// Bytes read (uncompressed).
    pub bytes_in: u64,
    pub edits: Vec<(Arc<str>, usize)>,
    pub elapsed: Duration,
    /// The run was cancelled before the end of its input; a file output
    /// was not written.
    pub interrupted: bool,
}

/// Why a JSONL run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonlError {
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
    #[error("{}:{}: {}", .0.source, .0.line, .0.message)]
    BadLine(BadLine),
    #[error("cannot start {0} worker threads: {1}")]
    Threads(usize, String),
}

/// Opens an input, decompressing `.gz` and `.zst` files; `-` is stdin.
pub fn open_input(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::with_capacity(1 << 20, io::stdin())));
    }
    let file = File::open(path)?;
    let reader: Box<dyn Read + Send> = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Some("zst") | Some("zstd") => Box::new(zstd::stream::read::Decoder::new(file)?),
        _ => Box::new(file),
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

/// An output, compressed by extension; `-` is stdout.
///
/// A file is written under a temporary name beside it and renamed by
/// [`Output::finish`], so it is either absent (or the previous one) or
/// whole; [`Output::abandon`] removes the temporary file.
pub struct Output {
    sink: Sink,
    /// (temporary file, final path) for file outputs.
    rename: Option<(PathBuf, PathBuf)>,
}

enum Sink {
    Plain(BufWriter<Box<dyn Write + Send>>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Output {
    pub fn create(path: &Path) -> io::Result<Output> {
        if path == Path::new("-") {
            return Ok(Output {
                sink: Sink::Plain(BufWriter::with_capacity(1 << 20, Box::new(io::stdout()))),
                rename: None,
            });
        }
        // A device or a pipe (`--out /dev/null`) is written to directly.
        let (file, tmp) = crate::run::create_replacement(path)?;
        let writer = BufWriter::with_capacity(1 << 20, file);
        let sink = match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Sink::Gzip(flate2::write::GzEncoder::new(
                writer,
                flate2::Compression::default(),
            )),
            Some("zst") | Some("zstd") => Sink::Zstd(zstd::stream::write::Encoder::new(writer, 3)?),
            _ => Sink::Plain(BufWriter::with_capacity(0, Box::new(writer))),
        };
        Ok(Output {
            sink,
            rename: tmp.map(|tmp| (tmp, path.to_path_buf())),
        })
    }

    /// Flushes, ends the compressed stream and puts the file in place.
    pub fn finish(mut self) -> io::Result<()> {
        let rename = self.rename.take();
        let result = self.end().and_then(|()| match &rename {
            Some((tmp, path)) => std::fs::rename(tmp, path),
            None => Ok(()),
        });
        if result.is_err()
            && let Some((tmp, _)) = &rename
        {
            let _ = std::fs::remove_file(tmp);
        }
        result
    }

    /// Drops what was written (a file output is not created).
    pub fn abandon(mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        } else {
            let _ = self.end();
        }
    }

    fn end(&mut self) -> io::Result<()> {
        let sink = std::mem::replace(
            &mut self.sink,
            Sink::Plain(BufWriter::new(Box::new(io::sink()))),
        );
        match sink {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish()?.flush(),
            Sink::Zstd(w) => w.finish()?.flush(),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Neither finished nor abandoned (a panic): leave no temporary file.
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write_vectored(bufs),
            Sink::Gzip(w) => w.write_vectored(bufs),
            Sink::Zstd(w) => w.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

/// Writes all of `bufs` (`Write::write_all_vectored` is not stable yet).
fn write_all_vectored(output: &mut impl Write, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0); // (drops empty slices)
    while !bufs.is_empty() {
        match output.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one line (through its `\n`) into `buf`, keeping at most `cap`
/// bytes of it; the rest of a longer line is read and dropped. Returns the
/// bytes read and whether the whole line is in `buf`.
fn read_line_capped(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: u64,
) -> io::Result<(usize, bool)> {
    let mut read = 0usize;
    let mut whole = true;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((read, whole));
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if whole && (buf.len() + take) as u64 <= cap {
            buf.extend_from_slice(&chunk[..take]);
        } else if whole {
            whole = false;
            *buf = Vec::new();
        }
        input.consume(take);
        read += take;
        if done {
            return Ok((read, whole));
        }
    }
}

/// One input line, waiting to be cleaned.
struct Line {
    source: Arc<str>,
    number: u64,
    /// The line's bytes without its line end (checked for UTF-8 by the
    /// cleaning thread, not the reader), or why it cannot be read.
    content: Result<Vec<u8>, String>,
}

/// What cleaning a line gave.
enum Cleaned {
    Record {
        /// The output line, with its line end.
        json: Vec<u8>,
        text_in: u64,
        text_out: u64,
        edits: Vec<(Arc<str>, usize)>,
    },
    Bad(BadLine),
}

/// The annotations of a document, as the `lavoir` field of a record: the
/// annotated document (docs/format.md) without its `id` and `text`, which
/// the record already holds.
#[derive(Serialize)]
struct Annotations<'a> {
    version: u32,
    input: &'a InputInfo,
    meta: &'a Meta,
    // Then `blocks`, `entities`, `edits` and `notices`, written by
    // `write_annotations`.
}

/// Appends the annotations of `doc`: the head by serde, the blocks,
/// entities and edit log by `json_writer`, then the notices if there are
/// any.
fn write_annotations(json: &mut Vec<u8>, doc: &CleanDocument) -> serde_json::Result<()> {
    let head = Annotations {
        version: doc.version,
        input: &doc.input,
        meta: &doc.meta,
    };
    serde_json::to_writer(&mut *json, &head)?;
    json.pop(); // the closing brace
    json.extend_from_slice(b",\"blocks\":");
    json_writer::write_blocks(json, &doc.blocks);
    json.extend_from_slice(b",\"entities\":");
    json_writer::write_entities(json, &doc.entities);
    json.extend_from_slice(b",\"edits\":");
    json_writer::write_edits(json, &doc.edits);
    if !doc.notices.is_empty() {
        json.extend_from_slice(b",\"notices\":");
        serde_json::to_writer(&mut *json, &doc.notices)?;
    }
    json.push(b'}');
    Ok(())
}

/// The field of an output record that holds the annotations.
pub const ANNOTATIONS_FIELD: &str = "lavoir";

/// Cleans the record on one line.
fn clean_line(pipeline: &Pipeline, line: &Line, text_field: &str) -> Cleaned {
    let bad = |message: String| {
        Cleaned::Bad(BadLine {
            source: line.source.to_string(),
            line: line.number,
            message,
        })
    };
    let text = match &line.content {
        Ok(bytes) => match utf8(bytes) {
            Ok(text) => text,
            Err(message) => return bad(message),
        },
        Err(message) => return bad(message.clone()),
    };
    let mut record = match parse_record(text, text_field) {
        Ok(record) => record,
        Err(message) => return bad(message),
    };
    let text = match record.take_text() {
        Some(Ok(text)) => text,
        Some(Err(kind)) => return bad(format!("`{text_field}` is {kind}, not a string")),
        None => return bad(format!("no `{text_field}` field")),
    };
    let id = match record.raw("id").map(RawValue::get) {
        Some(raw) if raw.starts_with('"') => {
            serde_json::from_str::<String>(raw).unwrap_or_default()
        }
        Some(raw) if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => raw.to_string(),
        _ => format!("{}:{}", line.source, line.number),
    };
    let text_in = text.len() as u64;
    let mut doc = match pipeline.clean_owned(text) {
        Ok(doc) => doc,
        Err(e) => return bad(e.to_string()),
    };
    doc.id = id;
    let edits = doc.edits_per_stage();
    let text_out = doc.text.len() as u64;
    // The record with the clean text in its place (the other fields as
    // they were written), then the annotations as its last field, written
    // straight from the document: the text and the edit log by
    // `json_writer`, the rest by serde. Annotated records are about four
    // times the size of their text: one allocation instead of a dozen
    // doublings.
    let mut json = Vec::with_capacity(4 * text_in as usize + 1024);
    json.push(b'{');
    record.write_fields(&mut json, &doc.text);
    json.extend_from_slice(b",\"");
    json.extend_from_slice(ANNOTATIONS_FIELD.as_bytes());
    json.extend_from_slice(b"\":");
    let json = write_annotations(&mut json, &doc).map(|()| {
        json.extend_from_slice(b"}\n");
        json
    });
    match json {
        Ok(json) => Cleaned::Record {
            json,
            text_in,
            text_out,
            edits,
        },
        Err(e) => bad(e.to_string()),
    }
}

/// Rebuilds an input record from an output record of `lavoir run --jsonl`:
/// the original text back in `text_field`, the `lavoir` field gone, the
/// other fields as they were. Returns the record as one JSON line (without
/// its line end).
pub fn restore_record(line: &str, text_field: &str) -> Result<String, String> {
    let mut record = parse_record(line, text_field)?;
    let annotations = match record.raw(ANNOTATIONS_FIELD) {
        Some(raw) if raw.get().starts_with('{') => raw.get(),
        _ => {
            return Err(format!(
                "no `{ANNOTATIONS_FIELD}` object: not written by lavoir"
            ));
        }
    };
    let Some(Ok(text)) = record.take_text() else {
        return Err(format!("no `{text_field}` string"));
    };
    let mut annotations: Map<String, Value> =
        serde_json::from_str(annotations).map_err(|e| e.to_string())?;
    annotations.insert("id".into(), Value::String(String::new()));
    annotations.insert("text".into(), Value::String(text));
    let doc: CleanDocument = serde_json::from_value(Value::Object(annotations))
        .map_err(|e| format!("`{ANNOTATIONS_FIELD}` is not a lavoir annotation: {e}"))?;
    let original = doc
        .restore()
        .map_err(|e| format!("the edit log does not fit the text: {e}"))?;
    let mut json = Vec::with_capacity(line.len());
    json.push(b'{');
    record.write_fields(&mut json, &original);
    json.push(b'}');
    String::from_utf8(json).map_err(|e| e.to_string())
}

/// The line as text. JSON text is UTF-8 (RFC 8259); a line that is not is
/// a bad line, reported like any other. (simdutf8: the standard library's
/// check took about 2% of a run's instructions, on the reader thread
/// that shares the cores with the cleaning.)
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| {
        let valid = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len);
        format!("not UTF-8 (byte {})", valid + 1)
    })
}

/// The fields of the JSON object on `line`, or why it is not one.
fn parse_record<'a>(line: &'a str, text_field: &str) -> Result<RawRecord<'a>, String> {
    let record = parse_record_with(line, text_field, false)?;
    if record.text() == Some(&Err(LEFT_TO_SERDE)) {
        // (A lone escaped surrogate: serde_json reads it, or says why not.)
        return parse_record_with(line, text_field, true);
    }
    Ok(record)
}

fn parse_record_with<'a>(
    line: &'a str,
    text_field: &str,
    serde_text: bool,
) -> Result<RawRecord<'a>, String> {
    let mut de = serde_json::Deserializer::from_str(line);
    RecordSeed {
        text_field,
        serde_text,
    }
    .deserialize(&mut de)
    .and_then(|record| de.end().map(|()| record))
    .map_err(|e| match serde_json::from_str::<Value>(line) {
        Ok(other) if !other.is_object() => format!("not a JSON object but {}", kind(&other)),
        Ok(_) => e.to_string(),
        Err(e) => format!("not JSON: {e}"),
    })
}

fn cancelled(options: &JsonlOptions) -> bool {
    options
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::Relaxed))
}

/// A JSON object read without building its values: each field's value is
/// its JSON text, borrowed from the line, so the fields lavoir does not
/// touch go out exactly as they came in; only the text field is read (as
/// a string, when it is one). As with serde_json's map, a key given twice
/// keeps its first place and its last value.
struct RawRecord<'a> {
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

enum Field<'a> {
    Raw(&'a RawValue),
    /// The text field: its string, or what it is instead.
    Text(Result<String, &'static str>),
}

impl<'a> RawRecord<'a> {
    /// The JSON text of field `key` (not the text field).
    fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find_map(|(k, v)| match v {
            Field::Raw(raw) if k == key => Some(*raw),
            _ => None,
        })
    }

    /// Writes the fields, comma-separated, with `text` as the text field's
    /// value and without a `lavoir` field: the others as they came in.
    fn write_fields(&self, json: &mut Vec<u8>, text: &str) {
        let mut first = true;
        for (key, value) in &self.fields {
            if key == ANNOTATIONS_FIELD {
                continue;
            }
            if !first {
                json.push(b',');
            }
            first = false;
            json_writer::write_str(json, key);
            json.push(b':');
            match value {
                Field::Raw(raw) => json.extend_from_slice(raw.get().as_bytes()),
                Field::Text(_) => json_writer::write_str(json, text),
            }
        }
    }

    /// The text field's string (or what the field is instead).
    fn text(&self) -> Option<&Result<String, &'static str>> {
        self.fields.iter().find_map(|(_, v)| match v {
            Field::Text(text) => Some(text),
            Field::Raw(_) => None,
        })
    }

    /// The text field's string (or what the field is instead), taken out.
    fn take_text(&mut self) -> Option<Result<String, &'static str>> {
        self.fields.iter_mut().find_map(|(_, v)| match v {
            Field::Text(text) => Some(std::mem::replace(text, Ok(String::new()))),
            Field::Raw(_) => None,
        })
    }
}

/// Reads a [`RawRecord`], knowing which field is the text.
struct RecordSeed<'f> {
    text_field: &'f str,
    /// Read the text field with serde_json's string parser ([`TextValue`])
    /// rather than as JSON text then [`unescape`]d.
    serde_text: bool,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = RawRecord<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = RawRecord<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut fields: Vec<(Cow<'de, str>, Field<'de>)> = Vec::new();
        // Where each key is, for records with many fields (a linear search
        // is quicker for the usual few).
        let mut index: HashMap<Cow<'de, str>, usize> = HashMap::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value = if key == self.text_field && self.serde_text {
                Field::Text(map.next_value::<TextValue>()?.0)
            } else if key == self.text_field {
                Field::Text(text_value(map.next_value::<&'de RawValue>()?))
            } else {
                Field::Raw(map.next_value::<&'de RawValue>()?)
            };
            let seen = if fields.len() < 16 {
                fields.iter().position(|(k, _)| *k == key)
            } else {
                if index.is_empty() {
                    index.extend(fields.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)));
                }
                index.get(&key).copied()
            };
            match seen {
                Some(i) => fields[i].1 = value,
                None => {
                    if !index.is_empty() {
                        index.insert(key.clone(), fields.len());
                    }
                    fields.push((key, value));
                }
            }
        }
        Ok(RawRecord { fields })
    }
}

/// What [`text_value`] says of a string it leaves to serde_json.
const LEFT_TO_SERDE: &str = "a string with a lone escaped surrogate";

/// The text field's value from its JSON text: the string, or what the
/// value is instead. Reading the JSON text (which serde_json has checked)
/// then unescaping it into a string of the right size is quicker than
/// serde_json's string parser, which grows a buffer and then copies it.
fn text_value(raw: &RawValue) -> Result<String, &'static str> {
    let json = raw.get();
    match json.as_bytes().first() {
        Some(b'"') => unescape(json).ok_or(LEFT_TO_SERDE),
        Some(b't' | b'f') => Err("a boolean"),
        Some(b'n') => Err("null"),
        Some(b'[') => Err("an array"),
        Some(b'{') => Err("an object"),
        _ => Err("a number"),
    }
}

/// The string a JSON string literal stands for. The literal must be valid
/// JSON (quotes, escapes and characters checked, as serde_json checks a
/// raw value). `None` for a surrogate escaped alone, which serde_json
/// reads or refuses (a pair, as in `\ud83d\ude00`, is one character).
fn unescape(literal: &str) -> Option<String> {
    let body = &literal[1..literal.len() - 1];
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut done = 0; // bytes of `body` read
    while let Some(k) = memchr::memchr(b'\\', &bytes[done..]) {
        let at = done + k;
        out.push_str(&body[done..at]);
        let escaped = match bytes[at + 1] {
            b'n' => '\n',
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            _ => {
                let code = |at: usize| {
                    let hex = body.get(at + 2..at + 6)?;
                    let digits = hex.bytes().all(|b| b.is_ascii_hexdigit());
                    u32::from_str_radix(hex, 16).ok().filter(|_| digits)
                };
                let high = code(at)?;
                let c = if (0xD800..0xDC00).contains(&high) {
                    // A pair of surrogates: one character beyond the BMP.
                    let low = code(at + 6).filter(|_| &bytes[at + 6..at + 8] == b"\\u")?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    done = at + 12;
                    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                } else {
                    done = at + 6;
                    char::from_u32(high)?
                };
                out.push(c);
                continue;
            }
        };
        out.push(escaped);
        done = at + 2;
    }
    out.push_str(&body[done..]);
    Some(out)
}

/// The text field's value: a string, or what it is instead.
struct TextValue(Result<String, &'static str>);

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = TextValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<TextValue, E> {
                Ok(TextValue(Ok(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<TextValue, E> {
                Ok(TextValue(Ok(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TextValue, E> {
                Ok(TextValue(Err("a boolean")))
            }
            fn visit_i64<E>(self, _: i64) -> Result<TextValue, E> {
                Ok(TextValue(Err("a number")))
            }
            fn visit_u64<E>(self, _: u64) -> Result<TextValue, E> {
                Ok(TextValue(Err("a number")))
            }
            fn visit_f64<E>(self, _: f64) -> Result<TextValue, E> {
                Ok(TextValue(Err("a number")))
            }
            fn visit_unit<E>(self) -> Result<TextValue, E> {
                Ok(TextValue(Err("null")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TextValue(Err("an array")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TextValue(Err("an object")))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// A key, borrowed from the line unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Cleans the records of `inputs` into `output`, in order.
pub fn run(
    pipeline: &Pipeline,
    inputs: &[PathBuf],
    output: Output,
    options: &JsonlOptions,
    mut on_bad: impl FnMut(&BadLine),
) -> Result<JsonlSummary, JsonlError> {
    let started = Instant::now();
    let threads = options.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| JsonlError::Threads(threads, e.to_string()))?;
    let (batch_tx, batch_rx) = sync_channel::<Vec<Line>>(2);
    let (out_tx, out_rx) = sync_channel::<Vec<Cleaned>>(2);
    let mut summary = JsonlSummary::default();

    std::thread::scope(|scope| {
        // Reader: lines -> batches. It owns the sender, so the workers'
        // loop ends when it is done.
        let reader = scope.spawn(move || -> Result<u64, JsonlError> {
            // A record's JSON can be longer than its text (escapes, other
            // fields), but not by much in real corpora.
            let max_line = pipeline
                .max_document_bytes()
                .saturating_mul(2)
                .saturating_add(1 << 20);
            let mut bytes_in = 0u64;
            let mut index = 0u64;
            let mut batch = Vec::with_capacity(options.batch_records);
            let mut batch_bytes = 0;
            for path in inputs {
                let source: Arc<str> = Arc::from(path.display().to_string().as_str());
                let mut input =
                    open_input(path).map_err(|e| JsonlError::Io(source.to_string(), e))?;
                let mut number = 0u64;
                loop {
                    if cancelled(options) {
                        return Ok(bytes_in);
                    }
                    let mut bytes = Vec::new();
                    let (read, whole) = read_line_capped(&mut input, &mut bytes, max_line)
                        .map_err(|e| JsonlError::Io(format!("{source}:{}", number + 1), e))?;
                    if read == 0 {
                        break;
                    }
                    number += 1;
                    bytes_in += read as u64;
                    if !whole {
                        // Not kept in memory: reported like any bad line.
                        batch.push(Line {
                            source: source.clone(),
                            number,
                            content: Err(format!(
                                "line of {read} bytes, too long for a record under \
                                 `max_document_bytes` ({}): skipped",
                                pipeline.max_document_bytes()
                            )),
                        });
                        index += 1;
                        continue;
                    }
                    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                        bytes.pop();
                    }
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue; // blank lines separate nothing in JSONL
                    }
                    let take = options.shard.is_none_or(|(k, n)| index % n == k - 1);
                    index += 1;
                    if !take {
                        continue;
                    }
                    batch_bytes += read;
                    batch.push(Line {
                        source: source.clone(),
                        number,
                        content: Ok(bytes),
                    });
                    if batch.len() >= options.batch_records || batch_bytes >= options.batch_bytes {
                        batch_bytes = 0;
                        let full = std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(options.batch_records),
                        );
                        if batch_tx.send(full).is_err() {
                            return Ok(bytes_in); // the run stopped
                        }
                    }
                }
            }
            if !batch.is_empty() {
                let _ = batch_tx.send(batch);
            }
            Ok(bytes_in)
        });

        // Writer: results -> output, in order.
        // It hands the output back, with the error that stopped it if any.
        let writer = scope.spawn(move || -> (Output, Option<JsonlError>) {
            let mut output = output;
            for batch in out_rx {
                // The batch's records in one vectored write: not copied
                // into the output's buffer first (30 M instructions on
                // 10 MB, on a thread that shares the cores).
                let mut records: Vec<IoSlice<'_>> = batch
                    .iter()
                    .filter_map(|cleaned| match cleaned {
                        Cleaned::Record { json, .. } => Some(IoSlice::new(json)),
                        _ => None,
                    })
                    .collect();
                if let Err(e) = write_all_vectored(&mut output, &mut records) {
                    return (output, Some(JsonlError::Io("output".into(), e)));
                }
            }
            (output, None)
        });

        // Workers: one batch at a time, its records in parallel.
        let mut failure = None;
        for batch in batch_rx {
            let cleaned: Vec<Cleaned> = pool.install(|| {
                batch
                    .par_iter()
                    .map(|line| clean_line(pipeline, line, &options.text_field))
                    .collect()
            });
            let mut light = Vec::with_capacity(cleaned.len());
            for c in cleaned {
                match c {
                    Cleaned::Record {
                        json,
                        text_in,
                        text_out,
                        edits,
                    } => {
                        summary.records += 1;
                        summary.text_in += text_in;
                        summary.text_out += text_out;
                        for (stage, n) in edits {
                            match summary.edits.iter_mut().find(|(s, _)| *s == stage) {
                                Some((_, total)) => *total += n,
                                None => summary.edits.push((stage, n)),
                            }
                        }
                        light.push(Cleaned::Record {
                            json,
                            text_in,
                            text_out,
                            edits: Vec::new(),
                        });
                    }
                    Cleaned::Bad(bad) => {
                        on_bad(&bad);
                        if options.on_error == OnError::Fail {
                            failure = Some(bad);
                            break;
                        }
                        summary.bad.push(bad);
                    }
                }
            }
            if out_tx.send(light).is_err() || failure.is_some() {
                break;
            }
        }
        drop(out_tx);
        let read = reader.join().expect("reader thread");
        let output = match writer.join().expect("writer thread") {
            (output, None) => output,
            (output, Some(e)) => {
                output.abandon();
                return Err(e);
            }
        };
        // Only a whole run makes a file: on a failure or an interruption
        // the previous output (if any) stays as it was.
        let bytes_in = match read {
            Ok(bytes_in) => bytes_in,
            Err(e) => {
                output.abandon();
                return Err(e);
            }
        };
        summary.bytes_in = bytes_in;
        if let Some(bad) = failure {
            output.abandon();
            return Err(JsonlError::BadLine(bad));
        }
        if cancelled(options) {
            summary.interrupted = true;
            output.abandon();
            return Ok(());
        }
        output
            .finish()
            .map_err(|e| JsonlError::Io("output".into(), e))
    })?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(
        input: &[u8],
        options: &JsonlOptions,
    ) -> (Vec<Value>, Result<JsonlSummary, JsonlError>) {
        let dir = tempfile::tempdir().unwrap();
        let inp = dir.path().join("in.jsonl");
        let out = dir.path().join("out.jsonl");
        std::fs::write(&inp, input).unwrap();
        let result = run(
            &Pipeline::builtin(),
            &[inp],
            Output::create(&out).unwrap(),
            options,
            |_| {},
        );
        let lines = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, result)
    }

    /// JSON text for `s` with every character beyond ASCII escaped, as
    /// Python's `json.dumps` writes by default (`ensure_ascii`).
    fn ascii_json(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                ' '..='~' => out.push(c),
                _ => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
        out + "\""
    }

    /// What serde_json's string parser makes of a literal.
    fn serde_string(literal: &str) -> Result<String, String> {
        serde_json::from_str::<String>(literal).map_err(|e| e.to_string())
    }

    proptest::proptest! {
        #[test]
        fn unescape_reads_strings_as_serde_json_does(s in "(?s).{0,40}", pieces in proptest::collection::vec(0..15usize, 0..12)) {
            for literal in [serde_json::to_string(&s).unwrap(), ascii_json(&s)] {
                proptest::prop_assert_eq!(unescape(&literal), Some(s.clone()));
            }
            // Escapes of every kind, surrogates alone or in pairs.
            const PIECES: [&str; 15] = [
                "a", "é", "\\n", "\\\"", "\\\\", "\\/", "\\b\\f\\r\\t", "\\u00e9",
                "\\uD83D\\uDE00", "\\ud83d", "\\ude00", "\\uFFFF", "\\u0000", "\\u20ac", "\\ndc00",
            ];
            let literal = format!("\"{}\"", pieces.iter().map(|&i| PIECES[i]).collect::<String>());
            match (unescape(&literal), serde_string(&literal)) {
                (Some(ours), Ok(theirs)) => proptest::prop_assert_eq!(ours, theirs),
                (None, _) => proptest::prop_assert!(pieces.iter().any(|&i| i == 9 || i == 10)),
                (Some(ours), Err(e)) => proptest::prop_assert!(false, "{literal}: {ours:?}, serde: {e}"),
            }
        }
    }

    #[test]
    fn a_text_with_a_lone_surrogate_is_refused_as_serde_json_refuses_it() {
        for text in [
            r"\ud83d",
            r"a\ude00",
            r"\ud83d\u0041",
            r"\ud83d\ndc00",
            r"\ud83d\\ude00",
        ] {
            let line = format!(r#"{{"id":1,"text":"{text}"}}"#);
            let ours = parse_record(&line, "text").err();
            let serde = parse_record_with(&line, "text", true).err();
            assert!(
                ours.as_ref()
                    .is_some_and(|e| e.contains("surrogate") || e.contains("hex escape")),
                "{ours:?}"
            );
            assert_eq!(ours, serde, "{line}");
        }
        // Written with only ASCII: the same record.
        let text = "Soleimani à Bagdad 😀 « x »\n";
        let line = format!(r#"{{"text":{},"id":1}}"#, ascii_json(text));
        let mut record = parse_record(&line, "text").unwrap();
        assert_eq!(record.take_text(), Some(Ok(text.to_string())));
    }

    #[test]
    fn records_keep_their_fields_and_order() {
        let input = r#"{"id":"b","text":"Suleimani à Baghdad","metadata":{"url":"x"},"extra":1}
{"id":"a","text":"Source link -57\nTexte."}
"#;
        let (lines, result) = run_on(input.as_bytes(), &JsonlOptions::default());
        let summary = result.unwrap();
        assert_eq!(summary.records, 2);
        assert_eq!(lines[0]["id"], "b");
        assert_eq!(lines[0]["text"], "Soleimani à Bagdad\n");
        assert_eq!(lines[0]["metadata"]["url"], "x");
        assert_eq!(lines[0]["extra"], 1);
        let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "text", "metadata", "extra", "lavoir"]);
        assert_eq!(lines[1]["text"], "Texte.\n");
        assert_eq!(
            lines[1]["lavoir"]["meta"]["removed"][0]["kind"],
            "source-link"
        );
    }

    #[test]
    fn other_fields_go_out_as_they_came_in() {
        // Numbers serde_json would rewrite (1.50, a 30-digit integer, 1e3),
        // escapes, spacing inside values, an escaped key, a key given twice.
        let input = concat!(
            r#"{"id": 1e3, "te\u0078t": "Suleimani", "metadata": {"n": 1.50, "big": "#,
            r#"123456789012345678901234567890, "s": "\u00e9"}, "x": 1, "x": [2 , 3]}"#,
            "\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let inp = dir.path().join("in.jsonl");
        let out = dir.path().join("out.jsonl");
        std::fs::write(&inp, input).unwrap();
        let options = JsonlOptions::default();
        let output = Output::create(&out).unwrap();
        run(&Pipeline::builtin(), &[inp], output, &options, |_| {}).unwrap();
        let line = std::fs::read_to_string(&out).unwrap();
        let expected = concat!(
            r#"{"id":1e3,"text":"Soleimani\n","metadata":{"n": 1.50, "big": "#,
            r#"123456789012345678901234567890, "s": "\u00e9"},"x":[2 , 3],"lavoir":{"#
        );
        assert!(line.starts_with(expected), "{line}");
        // Restored: the same values, written the same way; only the keys and
        // the text are written anew (one repeated key once, `\u0078` as x).
        assert_eq!(
            restore_record(line.trim_end(), "text").unwrap(),
            concat!(
                r#"{"id":1e3,"text":"Suleimani","metadata":{"n": 1.50, "big": "#,
                r#"123456789012345678901234567890, "s": "\u00e9"},"x":[2 , 3]}"#
            )
        );
    }

    #[test]
    fn what_is_wrong_with_a_bad_record_is_said() {
        let input = concat!(
            "{\"text\": 5}\n",
            "{\"text\": [1, {\"a\": null}], \"id\": 2}\n",
            "{\"text\": \"a\"} x\n",
            "{\"text\": \"a\"\n",
            "\"text\"\n",
        );
        let (lines, result) = run_on(input.as_bytes(), &JsonlOptions::default());
        assert!(lines.is_empty());
        let messages: Vec<String> = result.unwrap().bad.into_iter().map(|b| b.message).collect();
        assert_eq!(messages[0], "`text` is a number, not a string");
        assert_eq!(messages[1], "`text` is an array, not a string");
        assert!(
            messages[2].starts_with("not JSON: trailing characters"),
            "{}",
            messages[2]
        );
        assert!(messages[3].starts_with("not JSON: EOF"), "{}", messages[3]);
        assert_eq!(messages[4], "not a JSON object but a string");
    }

    #[test]
    fn many_fields_and_repeated_keys() {
        let fields: String = (0..40).map(|i| format!("\"f{}\":{i},", i % 20)).collect();
        let input = format!("{{{fields}\"text\":\"a\",\"text\":\"Bagdad\"}}\n");
        let (lines, result) = run_on(input.as_bytes(), &JsonlOptions::default());
        assert_eq!(result.unwrap().records, 1);
        let record = lines[0].as_object().unwrap();
        let keys: Vec<&str> = record.keys().map(String::as_str).collect();
        let mut expected: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        expected.extend(["text".to_string(), "lavoir".to_string()]);
        assert_eq!(keys, expected);
        assert_eq!(record["f3"], 23, "the last value of a repeated key");
        assert_eq!(record["text"], "Bagdad\n");
    }

    #[test]
    fn bad_lines_are_counted_or_fatal() {
        let input = "{\"text\":\"a\"}\nnot json\n{\"id\":1}\n[1]\n{\"text\":\"b\"}\n";
        let (lines, result) = run_on(input.as_bytes(), &JsonlOptions::default());
        let summary = result.unwrap();
        assert_eq!(lines.len(), 2);
        let bad: Vec<u64> = summary.bad.iter().map(|b| b.line).collect();
        assert_eq!(bad, vec![2, 3, 4]);
        assert!(summary.bad[1].message.contains("no `text` field"));
        assert_eq!(summary.bad[0].message.split(':').next(), Some("not JSON"));
        assert_eq!(summary.bad[2].message, "not a JSON object but an array");
        let fail = JsonlOptions {
            on_error: OnError::Fail,
            ..JsonlOptions::default()
        };
        let (_, result) = run_on(input.as_bytes(), &fail);
        match result {
            Err(JsonlError::BadLine(b)) => assert_eq!(b.line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shards_split_the_records() {
        let input: String = (0..10)
            .map(|i| format!("{{\"id\":{i},\"text\":\"t{i}\"}}\n"))
            .collect();
        let mut seen = Vec::new();
        for k in 1..=3 {
            let options = JsonlOptions {
                shard: Some((k, 3)),
                batch_records: 2,
                ..JsonlOptions::default()
            };
            let (lines, _) = run_on(input.as_bytes(), &options);
            seen.extend(lines.iter().map(|l| l["id"].as_u64().unwrap()));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_bad_line() {
        let input = b"{\"text\":\"a\"}\n{\"text\":\"caf\xe9\"}\r\n\n{\"text\":\"b\"}";
        let (lines, result) = run_on(input, &JsonlOptions::default());
        let summary = result.unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(summary.records, 2);
        assert_eq!(summary.bad.len(), 1);
        assert_eq!(summary.bad[0].line, 2);
        assert_eq!(summary.bad[0].message, "not UTF-8 (byte 13)");
    }

    #[test]
    fn restore_record_gives_the_input_record_back() {
        let input = concat!(
            r#"{"id":"b","text":"Source link -57\nSuleimani  à Baghdad","metadata":{"url":"x"},"n":[1,2]}"#,
            "\n",
            r#"{"text":"« Bonjour »","id":7}"#,
            "\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let (inp, out) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
        std::fs::write(&inp, input).unwrap();
        let options = JsonlOptions::default();
        run(
            &Pipeline::builtin(),
            &[inp],
            Output::create(&out).unwrap(),
            &options,
            |_| {},
        )
        .unwrap();
        let output = std::fs::read_to_string(&out).unwrap();
        let restored: Vec<String> = output
            .lines()
            .map(|l| restore_record(l, "text").unwrap())
            .collect();
        assert_eq!(restored, input.lines().collect::<Vec<_>>());
        assert!(
            restore_record(r#"{"text":"a"}"#, "text")
                .unwrap_err()
                .contains("no `lavoir`")
        );
    }
}
