//! Applying a stage's changes to the working text while keeping the edit
//! log lossless, and replaying the log backwards (`restore`).
//!
//! A stage returns [`Change`]s: byte ranges of the text it was given, with
//! the text to put there. `WorkDoc::apply` (private) applies them in one pass and
//! records, for each, an [`Edit`] with the original text, the new text,
//! where it was applied (`at`) and the span of the decoded input it comes
//! from. That input span is found with a source map: a partition of the
//! current text into pieces copied unchanged from the input (which map
//! character for character) and pieces written by stages (which map to the
//! whole input span they replaced), in the spirit of ruff's edit lists.

use std::ops::Range;
use std::sync::Arc;

use compact_str::CompactString;

use crate::document::{Block, BlockKind, Edit, EditKind, Entity, Meta, Removed};
use crate::text_index::{TextIndex, count_chars};

/// A change a stage wants to make to the text it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Byte range in the stage's input text (empty for an insertion).
    pub range: Range<usize>,
    /// The text to put there (empty for a removal).
    pub new: CompactString,
    /// Stable id of the rule.
    pub rule: Arc<str>,
    /// What the removed text is, for junk and metadata.
    pub category: Option<Arc<str>>,
    /// The metadata field that receives the text, for moves.
    pub to: Option<Arc<str>>,
}

impl Change {
    pub fn replace(range: Range<usize>, new: impl Into<CompactString>, rule: &Arc<str>) -> Self {
        Change {
            range,
            new: new.into(),
            rule: rule.clone(),
            category: None,
            to: None,
        }
    }

    pub fn remove(range: Range<usize>, rule: &Arc<str>) -> Self {
        Self::replace(range, CompactString::const_new(""), rule)
    }

    pub fn insert(at: usize, new: impl Into<CompactString>, rule: &Arc<str>) -> Self {
        Self::replace(at..at, new, rule)
    }

    /// Marks what the removed text was (`seo-prompt`, `caption`, …).
    pub fn category(mut self, category: &Arc<str>) -> Self {
        self.category = Some(category.clone());
        self
    }

    /// Marks the change as a move of the removed text into `meta.<field>`.
    pub fn moved_to(mut self, field: &Arc<str>) -> Self {
        self.to = Some(field.clone());
        self
    }

    fn kind(&self) -> EditKind {
        if self.to.is_some() {
            EditKind::Move
        } else if self.range.is_empty() {
            EditKind::Insert
        } else if self.new.is_empty() {
            EditKind::Remove
        } else {
            EditKind::Replace
        }
    }
}

/// A stage broke the rules of [`Change`]: a bug, reported, never applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeError {
    #[error("stage `{stage}` made overlapping changes at bytes {first:?} and {second:?}")]
    Overlap {
        stage: &'static str,
        first: Range<usize>,
        second: Range<usize>,
    },
    #[error(
        "stage `{stage}` made a change at bytes {range:?} outside the text or inside a character"
    )]
    OutOfBounds {
        stage: &'static str,
        range: Range<usize>,
    },
}

/// Entity details kept while the document is being processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityInfo {
    pub canonical: Arc<str>,
    pub surface: CompactString,
    pub kind: Arc<str>,
    pub normalized: bool,
}

/// An annotation on a byte span of the working text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub range: Range<usize>,
    pub value: T,
}

/// What a stage sees and returns: the text, the metadata, the current
/// annotations, and the changes and annotations it adds.
pub struct StageCtx<'a> {
    pub text: &'a str,
    pub meta: &'a mut Meta,
    /// Blocks found so far, in byte ranges of `text`.
    pub blocks: &'a [Spanned<BlockKind>],
    /// The changes to make, in any order; they must not overlap.
    pub changes: Vec<Change>,
    /// New blocks (replacing the old ones), in byte ranges of `text`.
    pub new_blocks: Option<Vec<Spanned<BlockKind>>>,
    /// New entities, in byte ranges of `text`.
    pub new_entities: Vec<Spanned<EntityInfo>>,
    /// When set, only these byte ranges (sorted, disjoint; empty where
    /// text was removed) changed since the stage last looked, and only the
    /// lines holding part of one need a look: the pipeline runs a stage
    /// again where another changed the text (see
    /// [`crate::stages::Stage::group`]).
    pub focus: Option<&'a [Range<usize>]>,
}

impl StageCtx<'_> {
    /// The line holding byte `at` of `text`, without its line end (a line
    /// end at `at` ends that line).
    fn line_around(&self, at: usize) -> Range<usize> {
        let bytes = self.text.as_bytes();
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |n| n + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
        start..end
    }

    /// The parts of `text` that need a look: all of it, or, when a focus
    /// is set, each line (without its line end) holding part of a focus
    /// range, in order, once. For stages that walk the text rather than
    /// its lines.
    pub fn regions(&self) -> Vec<Range<usize>> {
        let Some(focus) = self.focus else {
            #[allow(clippy::single_range_in_vec_init)] // one region: the whole text
            return vec![0..self.text.len()];
        };
        let mut lines: Vec<Range<usize>> = Vec::with_capacity(focus.len());
        for r in focus {
            let end = r.end.min(self.text.len());
            let mut at = r.start.min(end);
            if let Some(last) = lines.last() {
                if end <= last.end {
                    continue; // within the last line taken
                }
                at = at.max(last.end + 1);
            }
            loop {
                let line = self.line_around(at);
                let line_end = line.end;
                lines.push(line);
                if line_end >= end {
                    break;
                }
                at = line_end + 1;
            }
        }
        lines
    }

    /// Does the line `line` (byte range of `text`, without its line end),
    /// or any span of `text`, hold part of a focus range (ends included)?
    /// Always, unless a focus is set.
    pub fn in_focus(&self, line: &Range<usize>) -> bool {
        match self.focus {
            None => true,
            Some(ranges) => {
                let i = ranges.partition_point(|r| r.end < line.start);
                ranges.get(i).is_some_and(|r| r.start <= line.end)
            }
        }
    }
}

/// One edit as recorded while processing: byte offsets, converted to code
/// points at the end.
#[derive(Clone, Debug)]
struct RawEdit {
    stage: &'static str,
    rule: Arc<str>,
    kind: EditKind,
    category: Option<Arc<str>>,
    to: Option<Arc<str>>,
    input: Range<usize>,
    at: usize,
    original: CompactString,
    new: CompactString,
}

/// One change of the last stage run, as a stage that may look again after
/// it sees it ([`crate::stages::Stage::affected_by`]): the text it
/// replaced, the text it put there, and the characters on either side
/// (`None` at an edge of the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextChange<'a> {
    pub old: &'a str,
    pub new: &'a str,
    pub before: Option<char>,
    pub after: Option<char>,
}

impl<'a> TextChange<'a> {
    /// `text[range]` replaced by `new`, with its neighbours in `text`.
    pub fn of(text: &'a str, range: Range<usize>, new: &'a str) -> Self {
        TextChange {
            before: text[..range.start].chars().next_back(),
            after: text[range.end..].chars().next(),
            old: &text[range],
            new,
        }
    }
}

/// Where one change of a stage run went: its byte range in the text it
/// was applied to, and the length of the text it put there.
#[derive(Clone, Copy, Debug)]
struct Splice {
    start: usize,
    end: usize,
    new_len: usize,
}

impl Splice {
    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// How much longer the text became.
    fn delta(&self) -> isize {
        self.new_len as isize - (self.end - self.start) as isize
    }
}

/// A piece of the current text and where it comes from in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    cur: usize,
    len: usize,
    inp: usize,
    inp_len: usize,
    /// Copied unchanged from the input (maps byte for byte).
    exact: bool,
}

impl Seg {
    fn end(&self) -> usize {
        self.cur + self.len
    }
}

/// How many of `items` come before position `p` (`before` holds for a
/// first run of them, then for none: a `partition_point`), going on from
/// where the look-up `at` (position, count) stopped when `p` did not go
/// back. Changes, pieces and spans are looked up in order, so the
/// look-ups of a stage run walk the list once instead of searching it
/// anew each time.
fn count_before<T>(
    items: &[T],
    p: usize,
    at: &mut (usize, usize),
    before: impl Fn(&T, usize) -> bool,
) -> usize {
    let (last, mut k) = *at;
    if p < last {
        k = items.partition_point(|c| before(c, p));
    } else {
        while k < items.len() && before(&items[k], p) {
            k += 1;
        }
    }
    *at = (p, k);
    k
}

/// Where the look-ups of a run of ranges' starts and ends stopped, for
/// the next range ([`count_before`]): the source map's input spans, the
/// spans mapped through a stage run's changes.
#[derive(Default)]
struct RangeLookups {
    start: (usize, usize),
    end: (usize, usize),
}

/// Maps byte offsets of the current text to byte offsets of the input.
#[derive(Clone, Debug, Default)]
struct SourceMap {
    /// Contiguous, non-empty pieces covering the current text in order.
    segs: Vec<Seg>,
    inp_total: usize,
    /// Lists [`SourceMap::apply`] fills and empties again, kept for their
    /// buffers (it runs once for every stage run that changes the text).
    spare_segs: Vec<Seg>,
    groups: Vec<Group>,
}

/// Changes of one stage run that touch the same replaced piece, as one:
/// what they replace in the current text, how long their new text is, and
/// the input span it comes from.
#[derive(Clone, Debug)]
struct Group {
    old: Range<usize>,
    new_len: usize,
    inp: Range<usize>,
}

impl Seg {
    /// The exact piece `self` from `p` on (`p` inside it).
    fn from(self, p: usize) -> Seg {
        debug_assert!(self.exact && (self.cur..self.end()).contains(&p));
        let cut = p - self.cur;
        Seg {
            cur: p,
            len: self.len - cut,
            inp: self.inp + cut,
            inp_len: self.inp_len - cut,
            exact: true,
        }
    }

    /// The exact piece `self` up to `p` (`p` inside it).
    fn until(self, p: usize) -> Seg {
        debug_assert!(self.exact && (self.cur + 1..=self.end()).contains(&p));
        let len = p - self.cur;
        Seg {
            len,
            inp_len: len,
            ..self
        }
    }

    fn shifted(self, delta: isize) -> Seg {
        Seg {
            cur: (self.cur as isize + delta) as usize,
            ..self
        }
    }
}

impl SourceMap {
    /// The map of an input of `len` bytes to itself, in `self`'s buffers.
    fn reset(&mut self, len: usize) {
        self.segs.clear();
        if len > 0 {
            self.segs.push(Seg {
                cur: 0,
                len,
                inp: 0,
                inp_len: len,
                exact: true,
            });
        }
        self.inp_total = len;
    }

    /// Input offset where the text starting at `p` comes from.
    fn left(&self, p: usize, at: &mut (usize, usize)) -> usize {
        let i = count_before(&self.segs, p, at, |s, p| s.end() <= p);
        match self.segs.get(i) {
            None => self.inp_total,
            Some(s) if s.exact => s.inp + (p - s.cur),
            Some(s) => s.inp,
        }
    }

    /// Input offset where the text ending at `p` comes from.
    fn right(&self, p: usize, at: &mut (usize, usize)) -> usize {
        if p == 0 {
            return 0;
        }
        let i = count_before(&self.segs, p, at, |s, p| s.end() < p);
        match self.segs.get(i) {
            None => self.inp_total,
            Some(s) if s.exact => s.inp + (p - s.cur),
            Some(s) => s.inp + s.inp_len,
        }
    }

    /// The smallest input span holding the current range `r` (`at`: see
    /// [`count_before`]).
    fn input_span(&self, r: &Range<usize>, at: &mut RangeLookups) -> Range<usize> {
        if r.is_empty() {
            let (a, b) = (
                self.right(r.start, &mut at.end),
                self.left(r.start, &mut at.start),
            );
            a.min(b)..a.max(b)
        } else {
            self.left(r.start, &mut at.start)..self.right(r.end, &mut at.end)
        }
    }

    /// The replaced piece strictly containing `p`, if any.
    fn replaced_around(&self, p: usize, at: &mut (usize, usize)) -> Option<Seg> {
        let i = count_before(&self.segs, p, at, |s, p| s.end() <= p);
        self.segs.get(i).filter(|s| !s.exact && s.cur < p).copied()
    }

    /// Updates the map for sorted, non-overlapping `changes`.
    fn apply(&mut self, changes: &[Splice]) {
        let mut groups = std::mem::take(&mut self.groups);
        self.group(changes, &mut groups);
        // One walk over the pieces: those a group covers give way to one
        // replaced piece (an exact piece is cut where a group starts or
        // ends; a group never starts or ends inside a replaced one), the
        // others are shifted by the length the groups before them added.
        let mut out = std::mem::take(&mut self.spare_segs);
        out.clear();
        out.reserve(self.segs.len() + 2 * groups.len());
        let mut delta: isize = 0;
        let mut gi = 0;
        let mut covered = 0; // the end of the last group emitted
        for &seg in &self.segs {
            if covered >= seg.end() {
                continue;
            }
            let mut rest = if covered > seg.cur {
                seg.from(covered)
            } else {
                seg
            };
            // The groups starting in what is left of this piece (an
            // insertion at its end goes before the next piece).
            while let Some(g) = groups.get(gi).filter(|g| g.old.start < rest.end()) {
                if g.old.start > rest.cur {
                    out.push(rest.until(g.old.start).shifted(delta));
                }
                g.emit(&mut delta, &mut out);
                covered = g.old.end;
                gi += 1;
                if covered >= rest.end() {
                    break;
                }
                if covered > rest.cur {
                    rest = rest.from(covered);
                }
            }
            if covered < rest.end() {
                out.push(rest.shifted(delta));
            }
        }
        for g in &groups[gi..] {
            g.emit(&mut delta, &mut out);
        }
        self.spare_segs = std::mem::replace(&mut self.segs, out);
        self.groups = groups;
    }

    /// `changes` grouped into `groups`: a change touching a replaced piece
    /// takes the whole piece (it cannot be split), which may merge
    /// neighbours.
    fn group(&self, changes: &[Splice], groups: &mut Vec<Group>) {
        groups.clear();
        let mut around = (0, 0);
        for c in changes {
            let mut a = c.start;
            let mut b = c.end;
            if let Some(s) = self.replaced_around(a, &mut around) {
                a = s.cur;
                if c.is_empty() {
                    b = s.end();
                }
            }
            if let Some(s) = self.replaced_around(b, &mut around) {
                b = s.end();
            }
            let delta = c.delta();
            match groups.last_mut() {
                Some(g) if a < g.old.end => {
                    let grown = b.max(g.old.end);
                    g.new_len =
                        (g.new_len as isize + delta + (grown - g.old.end) as isize) as usize;
                    g.old.end = grown;
                }
                _ => groups.push(Group {
                    old: a..b,
                    new_len: ((b - a) as isize + delta) as usize,
                    inp: 0..0,
                }),
            }
        }
        let mut at = RangeLookups::default();
        for g in groups.iter_mut() {
            g.inp = self.input_span(&g.old, &mut at);
        }
    }
}

impl Group {
    /// Appends the replaced piece of the group (none when it removes text),
    /// `delta` bytes from where it was, and adds its length change to
    /// `delta`.
    fn emit(&self, delta: &mut isize, out: &mut Vec<Seg>) {
        if self.new_len > 0 {
            out.push(Seg {
                cur: (self.old.start as isize + *delta) as usize,
                len: self.new_len,
                inp: self.inp.start,
                inp_len: self.inp.len(),
                exact: false,
            });
        }
        *delta += self.new_len as isize - self.old.len() as isize;
    }
}

/// Maps byte offsets through one batch of sorted changes.
struct PosMapper<'c> {
    changes: &'c [Splice],
    /// Net length change of the changes before each one.
    delta_before: Vec<isize>,
}

impl<'c> PosMapper<'c> {
    fn new(changes: &'c [Splice]) -> Self {
        let mut delta_before = Vec::with_capacity(changes.len() + 1);
        let mut d = 0isize;
        for c in changes {
            delta_before.push(d);
            d += c.delta();
        }
        delta_before.push(d);
        PosMapper {
            changes,
            delta_before,
        }
    }

    fn shifted(&self, p: usize, k: usize) -> usize {
        (p as isize + self.delta_before[k]) as usize
    }

    /// New offset of a span start: after text inserted at `p`.
    fn start(&self, p: usize, at: &mut (usize, usize)) -> usize {
        let k = count_before(self.changes, p, at, |c, p| c.end <= p);
        match self.changes.get(k) {
            Some(c) if c.start < p => self.shifted(c.start, k),
            _ => self.shifted(p, k),
        }
    }

    /// New offset of a span end: before text inserted at `p`.
    fn end(&self, p: usize, at: &mut (usize, usize)) -> usize {
        let k = count_before(self.changes, p, at, |c, p| {
            c.end < p || (c.end == p && c.start < p)
        });
        match self.changes.get(k) {
            Some(c) if c.start < p && p < c.end => self.shifted(c.start, k) + c.new_len,
            _ => self.shifted(p, k),
        }
    }

    /// The new range of the span `r`, if its text is still there. `at`
    /// holds where the look-ups of the span before stopped.
    fn span(&self, r: &Range<usize>, at: &mut RangeLookups) -> Option<Range<usize>> {
        // Most spans lie before the first change or after the last one,
        // where the look-ups below come to this.
        match (self.changes.first(), self.changes.last()) {
            (Some(first), _) if r.end < first.start => return Some(r.clone()),
            (_, Some(last)) if r.start > last.end => {
                let n = self.changes.len();
                return Some(self.shifted(r.start, n)..self.shifted(r.end, n));
            }
            (None, _) => return Some(r.clone()),
            _ => {}
        }
        let (s, e) = (
            self.start(r.start, &mut at.start),
            self.end(r.end, &mut at.end),
        );
        // A span whose text was removed disappears.
        (s < e || r.is_empty()).then_some(s..e.max(s))
    }
}

/// A document being processed: the working text, its annotations and the
/// edit log.
pub struct WorkDoc {
    input: String,
    pub text: String,
    pub meta: Meta,
    pub blocks: Vec<Spanned<BlockKind>>,
    pub entities: Vec<Spanned<EntityInfo>>,
    map: SourceMap,
    log: Vec<RawEdit>,
    /// The changes of the last stage run, in bytes of the text they were
    /// applied to, sorted.
    last_changes: Vec<Splice>,
    /// Empty lists, kept for the next stage run's changes and entities
    /// (allocated once per document, not grown again at each run).
    spare_changes: Vec<Change>,
    spare_entities: Vec<Spanned<EntityInfo>>,
    /// The text before the last stage run that changed it (what
    /// `last_changes` index), kept for its buffer: the next such run
    /// writes its new text there.
    spare_text: String,
}

/// The lists a document's processing fills and empties again, kept from
/// one document to the next on each thread: allocated once per thread,
/// rather than grown again for every document.
#[derive(Default)]
struct Scratch {
    map: SourceMap,
    log: Vec<RawEdit>,
    last_changes: Vec<Splice>,
    changes: Vec<Change>,
    entities: Vec<Spanned<EntityInfo>>,
    text: String,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = Default::default();
}

impl Scratch {
    fn take() -> Scratch {
        SCRATCH.with_borrow_mut(std::mem::take)
    }

    /// Empties the lists and keeps them for the next document on this
    /// thread (not those a huge document left huge).
    fn give_back(mut self) {
        const MAX_BYTES: usize = 1 << 20;
        let bytes = (self.map.segs.capacity() + self.map.spare_segs.capacity()) * size_of::<Seg>()
            + self.map.groups.capacity() * size_of::<Group>()
            + self.log.capacity() * size_of::<RawEdit>()
            + self.last_changes.capacity() * size_of::<Splice>()
            + self.changes.capacity() * size_of::<Change>()
            + self.entities.capacity() * size_of::<Spanned<EntityInfo>>()
            + self.text.capacity();
        if bytes > MAX_BYTES {
            return;
        }
        self.log.clear();
        self.last_changes.clear();
        self.changes.clear();
        self.entities.clear();
        self.text.clear();
        SCRATCH.with_borrow_mut(|kept| *kept = self);
    }
}

impl WorkDoc {
    /// Starts from the decoded input.
    pub fn new(input: String) -> Self {
        let Scratch {
            mut map,
            log,
            last_changes,
            changes,
            entities,
            text,
        } = Scratch::take();
        map.reset(input.len());
        WorkDoc {
            map,
            text: input.clone(),
            input,
            meta: Meta::default(),
            blocks: Vec::new(),
            entities: Vec::new(),
            log,
            last_changes,
            spare_changes: changes,
            spare_entities: entities,
            spare_text: text,
        }
    }

    /// The decoded input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Did the last stage run change the text?
    pub fn changed(&self) -> bool {
        !self.last_changes.is_empty()
    }

    /// `pending` (sorted, disjoint byte ranges of the text before the last
    /// stage run) as ranges of the current text, with the ranges where
    /// that run put new text added (empty where it removed text), sorted
    /// and merged: everything a stage run after both should look at.
    pub fn carry_forward(&self, pending: &[Range<usize>]) -> Vec<Range<usize>> {
        self.carry_forward_for(pending, None)
    }

    /// [`WorkDoc::carry_forward`] for a stage that `affects`, when set,
    /// tells which changes could make it judge a line otherwise: the
    /// others' new text is not added (the ranges still move with the
    /// text). A change next to another one is always added (the characters
    /// beside it changed too).
    pub fn carry_forward_for(
        &self,
        pending: &[Range<usize>],
        affects: Option<&dyn Fn(&TextChange<'_>) -> bool>,
    ) -> Vec<Range<usize>> {
        let splices = &self.last_changes;
        let seen = |i: usize, at: usize| {
            let Some(affects) = affects else {
                return true;
            };
            let s = &splices[i];
            let touches = (i > 0 && splices[i - 1].end == s.start)
                || splices.get(i + 1).is_some_and(|n| n.start == s.end);
            let new = &self.text[at..at + s.new_len];
            touches || affects(&TextChange::of(&self.spare_text, s.start..s.end, new))
        };
        let mut out: Vec<Range<usize>> = Vec::with_capacity(pending.len() + splices.len());
        let push = |out: &mut Vec<Range<usize>>, r: Range<usize>| match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        };
        // One walk over both sorted lists: the pending ranges' ends only
        // grow, so the splices before a position and the text they added
        // (`shift`) are counted once.
        let mut c = 0; // splices ending at or before the position looked at
        let mut shift = 0isize;
        let moved = |p: usize, to_end: bool, c: &mut usize, shift: &mut isize| {
            while *c < splices.len() && splices[*c].end <= p {
                *shift += splices[*c].delta();
                *c += 1;
            }
            match splices.get(*c) {
                // Inside a change: where its new text starts (or ends).
                Some(s) if s.start < p => {
                    (s.start as isize + *shift) as usize + if to_end { s.new_len } else { 0 }
                }
                _ => (p as isize + *shift) as usize,
            }
        };
        let mut next_splice = 0;
        let mut splice_shift = 0isize;
        for r in pending {
            let start = moved(r.start, false, &mut c, &mut shift);
            // The changes' own new text, in order, before this range: those
            // starting where it starts too (an insertion there, which the
            // range's start is carried past), so that the ranges are
            // pushed in order of their start and merge.
            while next_splice < splices.len() && splices[next_splice].start <= r.start {
                let s = &splices[next_splice];
                let at = (s.start as isize + splice_shift) as usize;
                if seen(next_splice, at) {
                    push(&mut out, at..at + s.new_len);
                }
                splice_shift += s.delta();
                next_splice += 1;
            }
            let end = moved(r.end, true, &mut c, &mut shift);
            push(&mut out, start..end);
        }
        for (i, s) in splices.iter().enumerate().skip(next_splice) {
            let at = (s.start as isize + splice_shift) as usize;
            if seen(i, at) {
                push(&mut out, at..at + s.new_len);
            }
            splice_shift += s.delta();
        }
        out
    }

    /// Runs one stage: `f` fills a [`StageCtx`], then its changes are
    /// applied and logged, and the annotations follow the text.
    pub fn run_stage<E>(
        &mut self,
        stage: &'static str,
        f: impl FnOnce(&mut StageCtx<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<ChangeError>,
    {
        self.run_stage_on(stage, None, f)
    }

    /// [`WorkDoc::run_stage`], looking only at the lines that hold one of
    /// the byte ranges `focus` (sorted, disjoint) when it is set.
    pub fn run_stage_on<E>(
        &mut self,
        stage: &'static str,
        focus: Option<&[Range<usize>]>,
        f: impl FnOnce(&mut StageCtx<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<ChangeError>,
    {
        let mut ctx = StageCtx {
            text: &self.text,
            meta: &mut self.meta,
            blocks: &self.blocks,
            changes: std::mem::take(&mut self.spare_changes),
            new_blocks: None,
            new_entities: std::mem::take(&mut self.spare_entities),
            focus,
        };
        f(&mut ctx)?;
        let StageCtx {
            mut changes,
            new_blocks,
            mut new_entities,
            ..
        } = ctx;
        if let Some(blocks) = new_blocks {
            self.blocks = blocks;
        }
        if focus.is_some() && !new_entities.is_empty() {
            self.merge_entities_seen_again(&mut new_entities);
        }
        self.entities.append(&mut new_entities);
        self.spare_entities = new_entities;
        self.apply(stage, &mut changes)?;
        changes.clear(); // (apply used them up)
        self.spare_changes = changes;
        Ok(())
    }

    /// On a second look a stage finds again entities it recorded the first
    /// time (the recorded ones never overlap). One it finds again in the
    /// same place takes the new spelling and keeps the surface it had the
    /// first time, as the input wrote it ("al-Maliki" becomes "Al-Maliki"
    /// once a sentence starts before it); the others it replaces are
    /// dropped. What is left in `found` is new.
    fn merge_entities_seen_again(&mut self, found: &mut Vec<Spanned<EntityInfo>>) {
        // Recorded ranges by start (hence by end too), with their index.
        let mut seen: Vec<(Range<usize>, usize)> = self
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.range.clone(), i))
            .collect();
        seen.sort_unstable_by_key(|(r, _)| r.start);
        let mut dropped = vec![false; self.entities.len()];
        let mut updated = vec![false; self.entities.len()];
        found.retain(|e| {
            let first = seen.partition_point(|(r, _)| r.end <= e.range.start);
            let n = seen[first..]
                .iter()
                .take_while(|(r, _)| r.start < e.range.end)
                .count();
            let overlapping = &seen[first..first + n];
            match *overlapping {
                [] => true,
                // (One that was broken into parts keeps the first.)
                [(_, i)] if updated[i] => true,
                [(_, i)] => {
                    updated[i] = true;
                    let old = &mut self.entities[i];
                    old.range = e.range.clone();
                    old.value.canonical = e.value.canonical.clone();
                    old.value.kind = e.value.kind.clone();
                    old.value.normalized = *old.value.canonical != *old.value.surface;
                    false
                }
                _ => {
                    for &(_, i) in overlapping {
                        dropped[i] = true;
                    }
                    true
                }
            }
        });
        if dropped.contains(&true) {
            let mut i = 0;
            self.entities.retain(|_| {
                i += 1;
                !dropped[i - 1]
            });
        }
    }

    fn apply(&mut self, stage: &'static str, changes: &mut Vec<Change>) -> Result<(), ChangeError> {
        let text = &self.text;
        changes.retain(|c| text.get(c.range.clone()) != Some(c.new.as_str()));
        self.last_changes.clear();
        if changes.is_empty() {
            return Ok(());
        }
        changes.sort_by_key(|c| (c.range.start, c.range.end));
        for c in changes.iter() {
            if c.range.end > text.len()
                || !text.is_char_boundary(c.range.start)
                || !text.is_char_boundary(c.range.end)
            {
                return Err(ChangeError::OutOfBounds {
                    stage,
                    range: c.range.clone(),
                });
            }
        }
        for w in changes.windows(2) {
            if w[0].range.end > w[1].range.start {
                return Err(ChangeError::Overlap {
                    stage,
                    first: w[0].range.clone(),
                    second: w[1].range.clone(),
                });
            }
        }

        self.log.reserve(changes.len());
        self.last_changes.reserve(changes.len());
        let grown: usize = changes.iter().map(|c| c.new.len()).sum();
        let mut out = std::mem::take(&mut self.spare_text);
        out.clear();
        out.reserve(text.len() + grown);
        let mut last = 0;
        let mut chars_in = 0usize; // code points of `text` before `last`
        let mut delta_chars = 0isize; // net code points added so far
        let mut looked_up = RangeLookups::default();
        // The changes are used up: their strings move into the log.
        for c in changes.drain(..) {
            let kept = &text[last..c.range.start];
            out.push_str(kept);
            chars_in += count_chars(kept.as_bytes());
            let original = &text[c.range.clone()];
            let (orig_chars, new_chars) = (
                count_chars(original.as_bytes()),
                count_chars(c.new.as_bytes()),
            );
            self.last_changes.push(Splice {
                start: c.range.start,
                end: c.range.end,
                new_len: c.new.len(),
            });
            out.push_str(&c.new);
            self.log.push(RawEdit {
                stage,
                kind: c.kind(),
                input: self.map.input_span(&c.range, &mut looked_up),
                at: (chars_in as isize + delta_chars) as usize,
                original: CompactString::from(original),
                rule: c.rule,
                category: c.category,
                to: c.to,
                new: c.new,
            });
            chars_in += orig_chars;
            delta_chars += new_chars as isize - orig_chars as isize;
            last = c.range.end;
        }
        out.push_str(&text[last..]);

        self.map.apply(&self.last_changes);
        let mapper = PosMapper::new(&self.last_changes);
        fn remap<T>(mapper: &PosMapper<'_>, spans: &mut Vec<Spanned<T>>) {
            let mut at = RangeLookups::default();
            spans.retain_mut(|s| match mapper.span(&s.range, &mut at) {
                Some(r) => {
                    s.range = r;
                    true
                }
                None => false,
            });
        }
        remap(&mapper, &mut self.blocks);
        remap(&mapper, &mut self.entities);
        self.spare_text = std::mem::replace(&mut self.text, out);
        Ok(())
    }

    /// The edit log, with offsets converted to code points and each junk
    /// or metadata removal listed in `meta.removed`.
    pub fn finish(mut self) -> Finished {
        let index = TextIndex::new(&self.input);
        let mut log = std::mem::take(&mut self.log);
        let mut edits = Vec::with_capacity(log.len());
        // One shared name per stage. (Edits come in runs of one stage:
        // the last name is tried first, by address.)
        let mut stage_names: Vec<(&'static str, Arc<str>)> = Vec::new();
        for e in log.drain(..) {
            let same = |(name, _): &&(&'static str, Arc<str>)| std::ptr::eq(*name, e.stage);
            let stage = match stage_names.last().filter(same) {
                Some((_, name)) => name.clone(),
                None => match stage_names.iter().find(|(name, _)| *name == e.stage) {
                    Some((_, name)) => name.clone(),
                    None => {
                        let name: Arc<str> = Arc::from(e.stage);
                        stage_names.push((e.stage, name.clone()));
                        name
                    }
                },
            };
            let (start, line, column) = index.position(e.input.start);
            if let Some(kind) = &e.category
                && matches!(e.kind, EditKind::Remove | EditKind::Move)
            {
                // As the input had it (a late stage such as dedup removes
                // text that typography already touched), and on the line
                // where it starts, not where its leading line end is.
                let was = &self.input[e.input.clone()];
                let lead = was.len() - was.trim_start().len();
                self.meta.removed.push(Removed {
                    line: index.line(e.input.start + lead),
                    kind: kind.clone(),
                    text: was.trim().to_string(),
                    rule: e.rule.clone(),
                });
            }
            edits.push(Edit {
                stage,
                rule: e.rule,
                kind: e.kind,
                category: e.category,
                to: e.to,
                start,
                end: index.char_at(e.input.end),
                line,
                column,
                at: e.at,
                original: e.original,
                new: e.new,
            });
        }
        self.meta.removed.sort_by_key(|r| r.line);
        // Title, dek and headings as they read in the clean text.
        for b in &self.blocks {
            let field = match b.value {
                BlockKind::Title => "title",
                BlockKind::Dek => "dek",
                BlockKind::Heading => "headings",
                BlockKind::Paragraph => continue,
            };
            self.meta.store(field, &self.text[b.range.clone()]);
        }
        let out_index = TextIndex::new(&self.text);
        let chars = |r: &Range<usize>| (out_index.char_at(r.start), out_index.char_at(r.end));
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let (start, end) = chars(&b.range);
                Block {
                    kind: b.value,
                    start,
                    end,
                }
            })
            .collect();
        let mut entities: Vec<Entity> = std::mem::take(&mut self.entities)
            .into_iter()
            .map(|e| {
                let (start, end) = chars(&e.range);
                Entity {
                    start,
                    end,
                    canonical: e.value.canonical,
                    surface: e.value.surface,
                    kind: e.value.kind,
                    normalized: e.value.normalized,
                }
            })
            .collect();
        entities.sort_by_key(|e| (e.start, e.end));
        Scratch {
            map: std::mem::take(&mut self.map),
            log,
            last_changes: std::mem::take(&mut self.last_changes),
            changes: std::mem::take(&mut self.spare_changes),
            entities: std::mem::take(&mut self.spare_entities),
            text: std::mem::take(&mut self.spare_text),
        }
        .give_back();
        Finished {
            input_chars: index.char_at(self.input.len()),
            text: self.text,
            meta: self.meta,
            blocks,
            entities,
            edits,
        }
    }
}

/// The result of [`WorkDoc::finish`].
pub struct Finished {
    pub input_chars: usize,
    pub text: String,
    pub meta: Meta,
    pub blocks: Vec<Block>,
    pub entities: Vec<Entity>,
    pub edits: Vec<Edit>,
}

/// The text `f` (one stage's work) makes of `text`: for examples in
/// documentation and tests.
pub fn apply_once(text: &str, f: impl FnOnce(&mut StageCtx<'_>)) -> String {
    let mut doc = WorkDoc::new(text.to_string());
    match doc.run_stage::<ChangeError>("example", |ctx| {
        f(ctx);
        Ok(())
    }) {
        Ok(()) => doc.text,
        Err(e) => format!("<{e}>"),
    }
}

/// The edit log does not fit the text it is applied to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("edit {index} ({stage}/{rule}) does not match the text at {at}: expected {expected:?}")]
pub struct RestoreError {
    pub index: usize,
    pub stage: String,
    pub rule: String,
    pub at: usize,
    pub expected: String,
}

/// Rebuilds the decoded input from a clean text and its edit log.
///
/// Edits are undone from last to first. A run of edits in which each one
/// lies after the previous one's new text is undone in a single pass.
pub fn restore(text: &str, edits: &[Edit]) -> Result<String, RestoreError> {
    let mut current = text.to_string();
    let mut end = edits.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 {
            let (prev, next) = (&edits[start - 1], &edits[start]);
            if next.at >= prev.at + prev.new.chars().count() {
                start -= 1;
            } else {
                break;
            }
        }
        current = undo_run(&current, &edits[start..end], start)?;
        end = start;
    }
    Ok(current)
}

/// Undoes a run of edits sorted by position, in one pass over `text`.
fn undo_run(text: &str, run: &[Edit], first_index: usize) -> Result<String, RestoreError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    let mut pos = 0usize; // code point position of the iterator
    let mut byte = 0usize; // byte position of the iterator
    let mut copied = 0usize; // bytes of `text` already in `out`
    let advance = |target: usize,
                   chars: &mut std::str::CharIndices<'_>,
                   pos: &mut usize,
                   byte: &mut usize|
     -> bool {
        while *pos < target {
            match chars.next() {
                Some((_, c)) => {
                    *byte += c.len_utf8();
                    *pos += 1;
                }
                None => return false,
            }
        }
        true
    };
    for (i, e) in run.iter().enumerate() {
        let mismatch = || RestoreError {
            index: first_index + i,
            stage: e.stage.to_string(),
            rule: e.rule.to_string(),
            at: e.at,
            expected: e.new.to_string(),
        };
        if !advance(e.at, &mut chars, &mut pos, &mut byte) {
            return Err(mismatch());
        }
        out.push_str(&text[copied..byte]);
        if !text[byte..].starts_with(e.new.as_str()) {
            return Err(mismatch());
        }
        let new_chars = e.new.chars().count();
        advance(e.at + new_chars, &mut chars, &mut pos, &mut byte);
        out.push_str(&e.original);
        copied = byte;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    /// Runs a sequence of stages given as (start, end, new) byte changes
    /// and returns the finished document.
    fn run(input: &str, stages: &[&[(usize, usize, &str)]]) -> Finished {
        let mut doc = WorkDoc::new(input.to_string());
        for (i, changes) in stages.iter().enumerate() {
            let name: &'static str = ["one", "two", "three", "four"][i];
            doc.run_stage::<ChangeError>(name, |ctx| {
                for &(a, b, new) in changes.iter() {
                    ctx.changes.push(Change::replace(a..b, new, &rule("r")));
                }
                Ok(())
            })
            .unwrap();
        }
        doc.finish()
    }

    #[test]
    fn a_focus_range_covers_every_line_it_touches() {
        let text = "un\ndeux\ntrois\nquatre";
        let mut meta = Meta::default();
        let focus = [4..9, 16..16]; // "eux\ntr", then inside "quatre"
        let ctx = StageCtx {
            text,
            meta: &mut meta,
            blocks: &[],
            changes: Vec::new(),
            new_blocks: None,
            new_entities: Vec::new(),
            focus: Some(&focus),
        };
        assert_eq!(ctx.regions(), [3..7, 8..13, 14..20]);
        assert!(!ctx.in_focus(&(0..2)));
        assert!(ctx.in_focus(&(3..7)) && ctx.in_focus(&(8..13)) && ctx.in_focus(&(14..20)));
    }

    #[test]
    fn positions_are_carried_through_a_stage_run() {
        let mut doc = WorkDoc::new("ab cd ef gh".to_string());
        doc.run_stage::<ChangeError>("one", |ctx| {
            ctx.changes.push(Change::remove(0..3, &rule("r"))); // "ab "
            ctx.changes.push(Change::replace(6..8, "EFEF", &rule("r")));
            Ok(())
        })
        .unwrap();
        assert_eq!(doc.text, "cd EFEF gh");
        assert!(doc.changed());
        // Where the changes put their new text (none where "ab " was).
        assert_eq!(doc.carry_forward(&[]), [0..0, 3..7]);
        // Inside the first change (to where it was), inside the second (to
        // its new text), after both (shifted by -3, then by -3 + 2); merged
        // with the changes' own ranges.
        assert_eq!(doc.carry_forward(&[0..1, 7..7, 9..10]), [0..0, 3..7, 8..9]);
        // A range over both changes spans both new texts.
        let over_both = doc.carry_forward(std::slice::from_ref(&(1..9)));
        assert_eq!(over_both.len(), 1);
        assert_eq!(over_both[0], 0..8);
        // Text inserted where a pending range starts is covered whole (the
        // range is carried past it, the insertion's own range starts
        // before).
        let mut doc = WorkDoc::new("ab cd".to_string());
        doc.run_stage::<ChangeError>("t", |ctx| {
            ctx.changes.push(Change::insert(0, "xyz", &rule("t/r")));
            Ok(())
        })
        .unwrap();
        let ranges = doc.carry_forward(std::slice::from_ref(&(0..1)));
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0], 0..4);
    }

    #[test]
    fn records_input_spans_through_stacked_edits() {
        // "Suleimani a dit" -> "Soleimani a dit" -> "Soleimani a déclaré"
        let done = run(
            "Suleimani a dit",
            &[&[(1, 3, "ol")], &[(12, 15, "déclaré")]],
        );
        assert_eq!(done.text, "Soleimani a déclaré");
        let e = &done.edits[1];
        assert_eq!((e.start, e.end, e.at), (12, 15, 12));
        assert_eq!(restore(&done.text, &done.edits).unwrap(), "Suleimani a dit");
    }

    #[test]
    fn an_edit_over_a_replaced_piece_takes_its_whole_input_span() {
        // stage one rewrites "ab" as "XYZ"; stage two rewrites "YZc".
        let done = run("ab c", &[&[(0, 2, "XYZ")], &[(1, 5, "!")]]);
        assert_eq!(done.text, "X!");
        let e = &done.edits[1];
        assert_eq!((e.start, e.end), (0, 4));
        assert_eq!(restore(&done.text, &done.edits).unwrap(), "ab c");
    }

    #[test]
    fn insertions_and_removals_restore_exactly() {
        let done = run(
            "l'Irak« ,\n\n\nfin",
            &[
                &[(1, 2, "’"), (9, 11, "")],
                &[(0, 0, "« "), (6, 8, "\u{202f}»"), (11, 11, "\n")],
            ],
        );
        assert_eq!(
            restore(&done.text, &done.edits).unwrap(),
            "l'Irak« ,\n\n\nfin"
        );
    }

    #[test]
    fn overlapping_changes_are_refused() {
        let mut doc = WorkDoc::new("abcdef".into());
        let err = doc
            .run_stage::<ChangeError>("bad", |ctx| {
                ctx.changes.push(Change::remove(0..3, &rule("a")));
                ctx.changes.push(Change::remove(2..4, &rule("b")));
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(err, ChangeError::Overlap { .. }));
        assert_eq!(doc.text, "abcdef");
    }

    #[test]
    fn span_look_ups_that_go_on_from_the_last_find_what_a_search_finds() {
        // The definition: each position searched for among all changes.
        let reference = |m: &PosMapper<'_>, r: &Range<usize>| {
            let start = {
                let p = r.start;
                let k = m.changes.partition_point(|c| c.end <= p);
                match m.changes.get(k) {
                    Some(c) if c.start < p => m.shifted(c.start, k),
                    _ => m.shifted(p, k),
                }
            };
            let end = {
                let p = r.end;
                let k = m
                    .changes
                    .partition_point(|c| c.end < p || (c.end == p && c.start < p));
                match m.changes.get(k) {
                    Some(c) if c.start < p && p < c.end => m.shifted(c.start, k) + c.new_len,
                    _ => m.shifted(p, k),
                }
            };
            (start < end || r.is_empty()).then_some(start..end.max(start))
        };
        let mut next = crate::lanes::test_numbers(11);
        for _ in 0..2000 {
            let mut changes = Vec::new();
            let mut at = next(4);
            while changes.len() < next(8) {
                let end = at + next(4);
                changes.push(Splice {
                    start: at,
                    end,
                    new_len: next(4),
                });
                at = end + next(5);
            }
            let mapper = PosMapper::new(&changes);
            // Spans in order, then some that go back.
            let mut spans: Vec<Range<usize>> = Vec::new();
            let mut p = next(3);
            for _ in 0..next(12) {
                let end = p + next(6);
                spans.push(p..end);
                p = if next(5) == 0 {
                    next(20)
                } else {
                    end + next(4)
                };
            }
            let mut lookups = RangeLookups::default();
            for r in &spans {
                assert_eq!(
                    mapper.span(r, &mut lookups),
                    reference(&mapper, r),
                    "{r:?} through {changes:?}"
                );
            }
        }
    }

    #[test]
    fn spans_follow_the_text() {
        let mut doc = WorkDoc::new("xx Bagdad yy".into());
        doc.run_stage::<ChangeError>("mark", |ctx| {
            ctx.new_entities.push(Spanned {
                range: 3..9,
                value: EntityInfo {
                    canonical: "Bagdad".into(),
                    surface: "Bagdad".into(),
                    kind: rule("place"),
                    normalized: false,
                },
            });
            Ok(())
        })
        .unwrap();
        doc.run_stage::<ChangeError>("trim", |ctx| {
            ctx.changes.push(Change::remove(0..3, &rule("t")));
            ctx.changes.push(Change::insert(9, "!", &rule("t")));
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(done.text, "Bagdad! yy");
        assert_eq!((done.entities[0].start, done.entities[0].end), (0, 6));
    }

    #[test]
    fn restore_reports_a_log_that_does_not_fit() {
        let done = run("abc", &[&[(0, 1, "X")]]);
        let err = restore("Zbc", &done.edits).unwrap_err();
        assert_eq!(err.index, 0);
    }

    /// Stop 18's source map update (cut the exact pieces at every group
    /// boundary into a new list, then rebuild the list with the groups in
    /// their place): the definition the one-pass walk must agree with.
    fn apply_in_passes(map: &mut SourceMap, changes: &[Splice]) {
        let mut groups = Vec::new();
        map.group(changes, &mut groups);
        let mut cuts: Vec<usize> = groups
            .iter()
            .flat_map(|g| [g.old.start, g.old.end])
            .collect();
        cuts.dedup();
        let mut refined = Vec::new();
        for &s in &map.segs {
            let mut s = s;
            for &cut in &cuts {
                if s.exact && s.cur < cut && cut < s.end() {
                    refined.push(s.until(cut));
                    s = s.from(cut);
                }
            }
            refined.push(s);
        }
        let (mut out, mut delta, mut gi, mut covered) = (Vec::new(), 0isize, 0, 0);
        for s in refined {
            while gi < groups.len() && groups[gi].old.start <= s.cur {
                groups[gi].emit(&mut delta, &mut out);
                covered = groups[gi].old.end;
                gi += 1;
            }
            if s.cur >= covered {
                out.push(s.shifted(delta));
            }
        }
        for g in &groups[gi..] {
            g.emit(&mut delta, &mut out);
        }
        map.segs = out;
    }

    proptest::proptest! {
        #[test]
        fn the_source_map_walk_agrees_with_the_map_built_in_passes(
            len in 0..40usize,
            runs in proptest::collection::vec(
                proptest::collection::vec((0..40usize, 0..4usize, 0..4usize), 0..6),
                1..6,
            ),
        ) {
            let (mut walked, mut passed) = (SourceMap::default(), SourceMap::default());
            walked.reset(len);
            passed.reset(len);
            let mut cur_len = len;
            for run in runs {
                // Sorted, disjoint splices of the current text: from each
                // drawn start, a removed length and a new length (adjacent
                // ones allowed, insertions too).
                let mut splices = Vec::new();
                let mut from = 0;
                let mut starts: Vec<_> = run.iter().map(|&(p, ..)| p).collect();
                starts.sort_unstable();
                for (&start, &(_, cut, new_len)) in starts.iter().zip(&run) {
                    let start = start.max(from);
                    if start > cur_len {
                        break;
                    }
                    let end = (start + cut).min(cur_len);
                    splices.push(Splice { start, end, new_len });
                    from = end;
                }
                walked.apply(&splices);
                apply_in_passes(&mut passed, &splices);
                proptest::prop_assert_eq!(&walked.segs, &passed.segs);
                cur_len = (cur_len as isize + splices.iter().map(Splice::delta).sum::<isize>()) as usize;
                let covered: usize = walked.segs.iter().map(|s| s.len).sum();
                proptest::prop_assert_eq!(covered, cur_len);
            }
        }
    }
}
