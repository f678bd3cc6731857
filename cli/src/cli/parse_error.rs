//! clap's usage errors, told in one line on stderr.

use clap::error::ErrorKind;

/// `e` as one line: clap's message without the usage block and the
/// "for more information" hint, followed by a pointer to `--help`.
pub fn one_line(e: &clap::Error) -> String {
    if matches!(e.kind(), ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand) {
        return "error: a command is required (see --help)".into();
    }
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let text = super::exit::one_line(&message.join(" "));
    let text = if text.starts_with("error:") { text } else { format!("error: {text}") };
    format!("{text} (see --help)")
}
