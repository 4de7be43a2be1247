//! A parsed YAML tree with the line and column of every node, and a serde
//! `Deserializer` over it.
//!
//! Why not deserialize straight from the YAML parser: a serde deserializer
//! stops at the first error, and users want every mistake in a pipeline.yaml
//! reported at once. Deserializing from this tree lets the loader check each
//! stage on its own, collect every unknown key (with the keys it expected),
//! and still point at the exact line and column of each problem.
//!
//! Nothing here knows about the YAML crate: `config.rs` builds the tree.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

/// 1-based line and column (in characters) of a node in its file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// One YAML node.
#[derive(Clone, Debug)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The value of a node. Scalars keep their text as written, so a field typed
/// as a string receives `no` or `0x1F` verbatim instead of a boolean or an
/// integer (the Rust type is the schema).
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug)]
pub struct Scalar {
    /// The string form: the parsed string for strings, the source spelling
    /// for plain booleans and numbers.
    pub text: String,
    pub typed: Typed,
    /// Byte offset and length of a plain non-string scalar in the source.
    pub source: Option<(usize, usize)>,
}

#[derive(Clone, Copy, Debug)]
pub enum Typed {
    Str,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// A short description of the node's type, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Scalar(s) => match s.typed {
                Typed::Str => "a string",
                Typed::Bool(_) => "a boolean",
                Typed::Int(_) | Typed::UInt(_) => "an integer",
                Typed::Float(_) => "a number",
            },
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// An error found while reading a node, with its position when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeError {
    pub pos: Option<Pos>,
    pub message: String,
    /// The message already names its key.
    keyed: bool,
}

impl NodeError {
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        NodeError {
            pos: Some(pos),
            message: message.into(),
            keyed: false,
        }
    }

    fn located(mut self, pos: Pos) -> Self {
        if self.pos.is_none() {
            self.pos = Some(pos);
        }
        self
    }

    /// Names the key whose value is wrong, unless a deeper key was named.
    fn keyed(mut self, key: &Node) -> Self {
        if !self.keyed {
            if let Some(k) = key.as_str() {
                self.message = format!("`{k}`: {}", self.message);
            }
            self.keyed = true;
        }
        self
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl de::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError {
            pos: None,
            message: msg.to_string(),
            keyed: false,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        de::Error::custom(format!(
            "unknown `{variant}`, expected one of: {}{}",
            expected.join(", "),
            did_you_mean(variant, expected)
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        de::Error::custom(format!("missing key `{field}`"))
    }
}

/// " (did you mean `x`?)" when one of `candidates` is a likely typo of `word`.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Struct name that asks [`NodeDe`] for a [`Located`] value.
const LOCATED: &str = "$lavoir::Located";
const LOCATED_FIELDS: &[&str] = &["$line", "$column", "$value"];

/// A value with the position it was written at, so that errors found after
/// loading (a bad regex, a missing file) can still point at the right place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub pos: Pos,
    pub value: T,
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Located<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LocatedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for LocatedVisitor<T> {
            type Value = Located<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a located value")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Located<T>, A::Error> {
                let mut pos = Pos::default();
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "$line" => pos.line = map.next_value()?,
                        "$column" => pos.column = map.next_value()?,
                        _ => value = Some(map.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("missing located value"))?;
                Ok(Located { pos, value })
            }
        }
        deserializer.deserialize_struct(
            LOCATED,
            LOCATED_FIELDS,
            LocatedVisitor(std::marker::PhantomData),
        )
    }
}

/// Collects the errors a deserialization can survive (unknown keys), so one
/// pass reports them all.
#[derive(Default)]
pub struct Sink(RefCell<Vec<NodeError>>);

impl Sink {
    pub fn push(&self, error: NodeError) {
        self.0.borrow_mut().push(error);
    }

    pub fn take(&self) -> Vec<NodeError> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// Deserializes `T` from `node`. Returns the value (if the fatal errors left
/// one) and every error found, unknown keys included.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &Node) -> (Option<T>, Vec<NodeError>) {
    let sink = Sink::default();
    let result = T::deserialize(NodeDe { node, sink: &sink });
    let mut errors = sink.take();
    let value = match result {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e.located(node.pos));
            None
        }
    };
    errors.sort_by_key(|e| e.pos);
    (if errors.is_empty() { value } else { None }, errors)
}

/// A serde deserializer reading one [`Node`].
pub struct NodeDe<'a> {
    node: &'a Node,
    sink: &'a Sink,
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            sink: self.sink,
        }
    }

    fn invalid(&self, expected: &str) -> NodeError {
        let found = match &self.node.value {
            Value::Scalar(s) => format!("{} `{}`", self.node.describe(), s.text),
            _ => self.node.describe().to_string(),
        };
        NodeError::at(self.node.pos, format!("expected {expected}, found {found}"))
    }

    fn scalar(&self) -> Option<&'a Scalar> {
        match &self.node.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

macro_rules! forward_ints {
    ($($method:ident => $visit:ident : $ty:ty),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
            let pos = self.node.pos;
            let parsed: Option<$ty> = match self.scalar().map(|s| s.typed) {
                Some(Typed::Int(i)) => <$ty>::try_from(i).ok(),
                Some(Typed::UInt(u)) => <$ty>::try_from(u).ok(),
                _ => None,
            };
            match parsed {
                Some(v) => visitor.$visit(v).map_err(|e: NodeError| e.located(pos)),
                None => Err(self.invalid(concat!("an integer (", stringify!($ty), ")"))),
            }
        })*
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = NodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        let result = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Scalar(s) => match s.typed {
                Typed::Str => visitor.visit_str(&s.text),
                Typed::Bool(b) => visitor.visit_bool(b),
                Typed::Int(i) => visitor.visit_i64(i),
                Typed::UInt(u) => visitor.visit_u64(u),
                Typed::Float(f) => visitor.visit_f64(f),
            },
            Value::Seq(items) => visitor.visit_seq(SeqAcc {
                items: items.iter(),
                de: &self,
            }),
            Value::Map(entries) => visitor.visit_map(MapAcc {
                entries: entries.iter(),
                key: None,
                value: None,
                de: &self,
            }),
        };
        result.map_err(|e: NodeError| e.located(pos))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.scalar().map(|s| s.typed) {
            Some(Typed::Bool(b)) => visitor.visit_bool(b),
            _ => Err(self.invalid("true or false")),
        }
    }

    forward_ints! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        match self.scalar().map(|s| s.typed) {
            Some(Typed::Float(f)) => visitor.visit_f64(f),
            Some(Typed::Int(i)) => visitor.visit_f64(i as f64),
            Some(Typed::UInt(u)) => visitor.visit_f64(u as f64),
            _ => Err(self.invalid("a number")),
        }
        .map_err(|e: NodeError| e.located(pos))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        match self.scalar() {
            Some(s) => visitor
                .visit_str(&s.text)
                .map_err(|e: NodeError| e.located(pos)),
            None => Err(self.invalid("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.invalid("nothing")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        match &self.node.value {
            Value::Seq(items) => visitor
                .visit_seq(SeqAcc {
                    items: items.iter(),
                    de: &self,
                })
                .map_err(|e: NodeError| e.located(pos)),
            _ => Err(self.invalid("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        match &self.node.value {
            Value::Map(entries) => visitor
                .visit_map(MapAcc {
                    entries: entries.iter(),
                    key: None,
                    value: None,
                    de: &self,
                })
                .map_err(|e: NodeError| e.located(pos)),
            _ => Err(self.invalid("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        if name == LOCATED {
            return visitor.visit_map(LocatedAcc { step: 0, de: &self });
        }
        let entries: &[(Node, Node)] = match &self.node.value {
            Value::Map(entries) => entries,
            // An empty value (`- unicode:`) means "all defaults".
            Value::Null => &[],
            _ => return Err(self.invalid("a mapping")),
        };
        // Report every unknown or repeated key here and hide them from the
        // visitor, so the known keys are still checked.
        let mut seen: Vec<&str> = Vec::new();
        let mut kept: Vec<&(Node, Node)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = entry.0.as_str().unwrap_or("");
            if !fields.contains(&key) {
                self.sink.push(NodeError::at(
                    entry.0.pos,
                    format!(
                        "unknown key `{key}`, expected one of: {}{}",
                        fields.join(", "),
                        did_you_mean(key, fields)
                    ),
                ));
            } else if seen.contains(&key) {
                self.sink.push(NodeError::at(
                    entry.0.pos,
                    format!("key `{key}` is repeated"),
                ));
            } else {
                seen.push(key);
                kept.push(entry);
            }
        }
        visitor
            .visit_map(MapAcc {
                entries: kept.into_iter(),
                key: None,
                value: None,
                de: &self,
            })
            .map_err(|e: NodeError| e.located(pos))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let pos = self.node.pos;
        match &self.node.value {
            Value::Scalar(_) => visitor.visit_enum(EnumAcc {
                variant: self.node,
                value: None,
                de: &self,
            }),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumAcc {
                variant: &entries[0].0,
                value: Some(&entries[0].1),
                de: &self,
            }),
            _ => Err(self.invalid("a name, or a mapping with a single key")),
        }
        .map_err(|mut e: NodeError| {
            // serde says "unknown variant"; users think of stages and values.
            if let Some(rest) = e.message.strip_prefix("unknown `") {
                let what = if name == "StageConfig" {
                    "stage"
                } else {
                    "value"
                };
                e.message = format!("unknown {what} `{rest}");
            }
            e.located(pos)
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        visitor.visit_unit()
    }
}

struct SeqAcc<'a, 'b, I> {
    items: I,
    de: &'b NodeDe<'a>,
}

impl<'de, 'a, I: Iterator<Item = &'a Node>> de::SeqAccess<'de> for SeqAcc<'a, '_, I> {
    type Error = NodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NodeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(self.de.child(node))
                .map(Some)
                .map_err(|e| e.located(node.pos)),
            None => Ok(None),
        }
    }
}

struct MapAcc<'a, 'b, I> {
    entries: I,
    key: Option<&'a Node>,
    value: Option<&'a Node>,
    de: &'b NodeDe<'a>,
}

impl<'de, 'a, I: Iterator<Item = &'a (Node, Node)>> de::MapAccess<'de> for MapAcc<'a, '_, I> {
    type Error = NodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.key = Some(key);
                self.value = Some(value);
                seed.deserialize(self.de.child(key))
                    .map(Some)
                    .map_err(|e| e.located(key.pos))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, NodeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value asked before key"))?;
        let key = self.key.take();
        seed.deserialize(self.de.child(node))
            .map_err(|e: NodeError| {
                let e = e.located(node.pos);
                match key {
                    Some(k) => e.keyed(k),
                    None => e,
                }
            })
    }
}

/// Presents a node as `{$line, $column, $value}` to [`Located`].
struct LocatedAcc<'a, 'b> {
    step: usize,
    de: &'b NodeDe<'a>,
}

impl<'de> de::MapAccess<'de> for LocatedAcc<'_, '_> {
    type Error = NodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        match LOCATED_FIELDS.get(self.step) {
            Some(name) => seed.deserialize((*name).into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, NodeError> {
        let pos = self.de.node.pos;
        self.step += 1;
        match self.step {
            1 => seed.deserialize(pos.line.into_deserializer()),
            2 => seed.deserialize(pos.column.into_deserializer()),
            _ => seed.deserialize(self.de.child(self.de.node)),
        }
    }
}

struct EnumAcc<'a, 'b> {
    variant: &'a Node,
    value: Option<&'a Node>,
    de: &'b NodeDe<'a>,
}

impl<'de, 'a, 'b> de::EnumAccess<'de> for EnumAcc<'a, 'b> {
    type Error = NodeError;
    type Variant = VariantAcc<'a, 'b>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAcc<'a, 'b>), NodeError> {
        let pos = self.variant.pos;
        let value = seed
            .deserialize(self.de.child(self.variant))
            .map_err(|e: NodeError| e.located(pos))?;
        Ok((
            value,
            VariantAcc {
                value: self.value,
                pos,
                de: self.de,
            },
        ))
    }
}

struct VariantAcc<'a, 'b> {
    value: Option<&'a Node>,
    pos: Pos,
    de: &'b NodeDe<'a>,
}

impl<'de> de::VariantAccess<'de> for VariantAcc<'_, '_> {
    type Error = NodeError;

    fn unit_variant(self) -> Result<(), NodeError> {
        match self.value {
            None
            | Some(Node {
                value: Value::Null, ..
            }) => Ok(()),
            Some(node) => Err(NodeError::at(node.pos, "this option takes no value")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, NodeError> {
        // A bare name (`- unicode`) reads as a name with an empty value.
        let null = Node {
            pos: self.pos,
            value: Value::Null,
        };
        match self.value {
            Some(node) => seed.deserialize(self.de.child(node)),
            None => seed.deserialize(NodeDe {
                node: &null,
                sink: self.de.sink,
            }),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        match self.value {
            Some(node) => de::Deserializer::deserialize_seq(self.de.child(node), visitor),
            None => Err(NodeError::at(self.pos, "expected a list")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let null = Node {
            pos: self.pos,
            value: Value::Null,
        };
        let node = self.value.unwrap_or(&null);
        de::Deserializer::deserialize_struct(
            NodeDe {
                node,
                sink: self.de.sink,
            },
            "",
            fields,
            visitor,
        )
    }
}

/// The field names serde knows for struct `T`: lets tests check that the
/// documentation lists every option.
pub fn struct_fields<'de, T: de::Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe(std::cell::Cell<&'static [&'static str]>);
    impl<'de> de::Deserializer<'de> for &Probe {
        type Error = NodeError;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, NodeError> {
            self.0.set(fields);
            Err(de::Error::custom("probe"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, NodeError> {
            Err(de::Error::custom("probe"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let probe = Probe(std::cell::Cell::new(&[]));
    let _ = T::deserialize(&probe);
    probe.0.get()
}
