//! Properties that hold for any input: restore is exact, nothing panics,
//! every span lies inside its text.

use std::path::Path;

use lavoir::CleanDocument;
use proptest::prelude::*;

use crate::PIPELINE;

/// Pieces of scraped-news text, junk included, that the generator strings
/// together, plus characters every stage has an opinion about.
const PIECES: &[&str] = &[
    "Customize this title in french",
    "Le chef de la force Quds",
    "Suleimani",
    "BAGHDAD",
    "Al\u{A0}Maliki",
    "Etats-Unis",
    "l'Irak« ,",
    "« il",
    "\u{A0}»",
    "Source link -57",
    "Laisser un commentaire",
    "Publié par",
    "724",
    "jpost.com",
    "(crédit photo : REUTERS/X)",
    "ambas-sades",
    "e\u{301}",
    "\u{AD}",
    "\u{200B}",
    "\u{FEFF}",
    "\u{202F}",
    "\t",
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    " ",
    ".",
    "\u{7}",
    "\u{2028}",
    "ﬁ",
    "Ã©",
];

fn news_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => any::<String>(),
            2 => "[a-zA-Zéèàç’' ,.:;!?«»()-]{0,20}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn check_spans(doc: &CleanDocument, input_chars: usize) {
    let text_chars = doc.text.chars().count();
    for e in &doc.edits {
        assert!(e.start <= e.end && e.end <= input_chars, "{e:?}");
    }
    for b in &doc.blocks {
        assert!(b.start <= b.end && b.end <= text_chars);
    }
    for ent in &doc.entities {
        assert!(ent.start < ent.end && ent.end <= text_chars);
        let span: String = doc
            .text
            .chars()
            .skip(ent.start)
            .take(ent.end - ent.start)
            .collect();
        assert_eq!(span, *ent.canonical);
    }
}

/// 400 cases per property, or `PROPTEST_CASES` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn restore_is_exact_on_news_like_text(input in news_like()) {
        let doc = PIPELINE.clean(&input).unwrap();
        prop_assert_eq!(doc.restore().unwrap(), input.clone());
        check_spans(&doc, input.chars().count());
    }

    #[test]
    fn cleaning_twice_equals_cleaning_once(input in news_like()) {
        let once = PIPELINE.clean(&input).unwrap();
        let twice = PIPELINE.clean(&once.text).unwrap();
        prop_assert_eq!(&twice.text, &once.text, "edits: {:?}", twice.edits);
    }

    #[test]
    fn output_is_nfc_with_clean_layout(input in news_like()) {
        use unicode_normalization::UnicodeNormalization;
        let doc = PIPELINE.clean(&input).unwrap();
        let nfc: String = doc.text.nfc().collect();
        prop_assert_eq!(&nfc, &doc.text);
        if !doc.text.is_empty() {
            prop_assert!(doc.text.ends_with('\n') && !doc.text.ends_with("\n\n"));
            prop_assert!(!doc.text.contains("\n\n\n"));
            for line in doc.text.lines() {
                prop_assert_eq!(line.trim(), line);
            }
        }
    }

    #[test]
    fn restore_is_exact_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(decoded) = PIPELINE.decode(&bytes) {
            let doc = PIPELINE.clean_bytes("bytes", &bytes).unwrap();
            prop_assert_eq!(doc.restore().unwrap(), decoded.text.clone());
            check_spans(&doc, decoded.text.chars().count());
        }
    }
}

/// Inputs on which the properties once failed (found by the generators
/// above or by the fuzzer, minimized), kept as plain cases.
#[test]
fn past_failures_stay_fixed() {
    let cases = [
        "a»A",
        "«»",
        "à:»",
        "a:»",
        "\u{A0}»Al\u{A0}Maliki« il",
        "A\u{302}´",
        "Customize this title in frenchSource link -57",
        "Customize this title in frenchCustomize this title in french",
        "Ã'à",
        "a,a,,«,?A(crédit photo : REUTERS/X)\u{AD}",
        "a A!»? (crédit photo : REUTERS/X)",
        "Le chef de la force Quds(crédit photo : REUTERS/X)\u{202F}.",
        "Û¡\u{302A}",
        "A ,A",
        "Suleimani\u{202F}.jpost.com\u{AD}",
        "Â\u{202F}Customize this title in french",
        "Ã©\u{323}",
        "ĘÃ©Al\u{A0}Maliki'.a",
        "Al\u{a0}Maliki.ﬁ\u{ad}",
    ];
    for input in cases {
        let once = PIPELINE.clean(input).unwrap();
        assert_eq!(once.restore().unwrap(), input);
        let twice = PIPELINE.clean(&once.text).unwrap();
        assert_eq!(twice.text, once.text, "{input:?}: {:?}", twice.edits);
    }
}

/// Byte inputs the fuzzer (fuzz/, target `pipeline`) found, minimized.
#[test]
fn past_fuzz_failures_stay_fixed() {
    let cases: &[&[u8]] = &[
        // "Ã" + a space that was a no-break space, at a line start or
        // after a word the same pass repairs.
        b" \xc3 ar",
        b" \xc3\x83 ar",
        b" \xc3\x83  Par",
        b"l\xc3\xa2t\xc3\x83\xc2\xa9 \xc3\x83  Parisis\n",
        b"l\xc3\xa2\xe2\x82\xac\xe2\x84\xa2\xc3\x83\xc2\xa9t\xc3\x83\xc2\xa9 \xc3\x83  Paris, \xc3\x82aris\n",
        b"l\xc3\xa2\xe2\x82\xac\xe2\x84\xa2\xc3\x83\xc2\xa9t\xc3\x83\xc2\xa9 \xc3\x83  Paris, \xc3\x82\xc2\xa7\xc3\x98\xc2\xaf\nvoyage \xc3\x83 Paris\n",
        // Garbled twice (read as Windows-1252 because of the 0xFF bytes):
        // the first repair leaves "Ã " or "Â ", repaired by the next pass.
        b"\xc3\x83 \xff\xffo",
        b"\xc3\x83 P\xff\xff",
        b"\xc3\x82 \xac\xac",
        // A space after "(" that typography removes: the credit or source
        // in parentheses is recognized either way.
        b".( Avec P)",
        b".( A)",
        b"( F)",
        // Two joiners in a row are judged by their visible neighbours; a
        // joiner before "»" (typography puts a space between) goes.
        b"\xff\xff\x9d\x9di",
        b"\xc5\x81\x9d\xbb",
        // "(Avec ?)" names nobody: not a credit, before or after
        // typography puts a no-break space before the "?".
        b"(Avec?)",
        b".(Avec!)",
        // "Ã " after a no-break space that structure trims; "Â " at the
        // end of a run of Windows-1252 characters.
        b"\xa0\xc3 \xff",
        b"\xbb\xc2 \xac",
        // A repair that would give U+061C, an invisible mark unicode removes.
        "ØœØœ".as_bytes(),
        // What metadata leaves is seen again by boilerplate: a caption
        // once "(L)" is gone, a section label once "AP" is gone.
        b"\x92\xa9n.(L)",
        b"e\nAP\nMonde",
        // "Ã " after a no-break space inside a run of Windows-1252
        // characters; an apostrophe that would make "â’ƒ" (UTF-8 of "⒃").
        b"\xff\xa0\xc3 a",
        b"\xe2'\x83",
        // A control character inside a run of spaces (tabs).
        b"l\xc3\x09\x12\x09\xff",
        // A run of no-break spaces, which typography would collapse.
        b" \x0aSource :l\xa1\xdf\xce\xcb/042 jan:iurce j\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa1\xdf\xce\xcb/04/2 jan:i:idr 2\x0a",
        // dehyphenate looks again at a word a prompt was glued to; a line
        // after a removed one counts as the first; 48 layers of mojibake.
        b"Customize this titleSourci-l",
        b"\xa9\x0a)\x0aMonde",
        b"\xffd\xc2\xad\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\x9d\xa0\xff\xff",
        // Words rejoined by dehyphenate before the rules see the line.
        b"Sour-ce link",
        b"l-undi 2 jan 2024",
        // "Ã " after a comma that typography follows with a space; text
        // garbled more than three times over.
        b"e,\xc3 e",
        b"\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xa0p\xff\xff\xff\xff",
        b"b\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xc2\xa0\xc2\xa0\xff",
        // Runs of spaces collapse before the rules measure a line.
        b"Source: Le Mon\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffoirakiar\xe9 \xab noM\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff (Avecova\n)\n",
        // A respelled name ("Quds" -> "Al-Qods") brings a repeated
        // paragraph over `min_chars`: dedup runs last, on the final text.
        b"i\xff\xff\nLe chef de la force Quds a \xc3\xa9t\xc3\xa9 tu\xc3\xa9 \xc3\xa0 Bagdad i matin.\ni\nLechef de la force Quds a \xc3\xa9t\xc3\xa9 tu\xc3\xa9 \xc3\xa0 Bagdad imatin.\nLe ati",
        // A full name written with another entity's variant inside: only
        // that part would be respelled, into a variant of the full name.
        b"Mohammed Chia al-Sudani !",
        b"MOHAMMED SHIA EL-SOUDANI",
        // A name respelled again on a second look (a "»" before it turned
        // into "«" starts a sentence): its entity follows the new spelling.
        "\u{a0}»Al\u{a0}Maliki\u{ad}".as_bytes(),
    ];
    // Larger inputs, kept as found, one file each (named after the rule
    // that fired on the second run).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        files.len() >= 6,
        "{} holds {} files",
        dir.display(),
        files.len()
    );
    for input in cases.iter().copied().chain(files.iter().map(Vec::as_slice)) {
        let (decoded, once) = PIPELINE.clean_bytes_keeping_input("fuzz", input).unwrap();
        assert_eq!(once.restore().unwrap(), decoded);
        check_spans(&once, decoded.chars().count());
        let twice = PIPELINE.clean(&once.text).unwrap();
        assert_eq!(twice.text, once.text, "{input:?}: {:?}", twice.edits);
    }
}
