//! CLI snapshot tests: tests/cmd/*.toml, with their expected standard
//! output and error in `*.stdout` and `*.stderr` (trycmd). After a
//! deliberate change of output, review with `TRYCMD=overwrite cargo test`.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin("lavoir", std::path::Path::new(env!("CARGO_BIN_EXE_lavoir")))
        .case("tests/cmd/*.toml");
}
