//! An analysis's options: what each one is ([`OptionSpec`]), and the values a front end chose
//! ([`Options`]), the same for the CLI's flags and the page's controls.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptionKind {
    /// On or off (`--threads`).
    Flag,
    /// Non-negative integers, one or more (`--pid 1 982`: process ids, mount ids, uids).
    Integers,
    /// Text; repeatable (`--ns net:4026531840 --ns pid:4026531836`) where `many`.
    Text { many: bool },
    /// One of a fixed set of words.
    Choice { choices: &'static [&'static str] },
    /// Where to write what the analysis produces besides its rows (`--dump DIR`, `--out FILE`): a path on
    /// the command line, a download in the page.
    Output { directory: bool },
}

/// Checks one text value of an option: `Err(why)` for a value the analysis cannot use.
pub type CheckFn = fn(&str) -> Result<(), String>;

/// One option of an analysis.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OptionSpec {
    /// The long flag (`--pid`), the page control's label, and the key in [`Options`].
    pub name: &'static str,
    /// A one-letter flag (`-U`), if any.
    pub short: Option<char>,
    /// What a value looks like, for help texts (`PID`, `KIND:INODE`).
    pub value_name: &'static str,
    /// What it does, in one line.
    pub help: &'static str,
    /// Its kind.
    #[serde(flatten)]
    pub kind: OptionKind,
    /// Checks one text value before the analysis runs (a bad value is bad usage, not a failed run).
    #[serde(skip)]
    pub check: Option<CheckFn>,
}

impl OptionSpec {
    /// A flag.
    pub const fn flag(name: &'static str, help: &'static str) -> OptionSpec {
        OptionSpec {
            name,
            short: None,
            value_name: "",
            help,
            kind: OptionKind::Flag,
            check: None,
        }
    }

    /// A list of integers.
    pub const fn integers(name: &'static str, value_name: &'static str, help: &'static str) -> OptionSpec {
        OptionSpec {
            name,
            short: None,
            value_name,
            help,
            kind: OptionKind::Integers,
            check: None,
        }
    }

    /// Text values, repeatable, each checked by `check`.
    pub const fn texts(name: &'static str, value_name: &'static str, help: &'static str, check: CheckFn) -> OptionSpec {
        OptionSpec {
            name,
            short: None,
            value_name,
            help,
            kind: OptionKind::Text { many: true },
            check: Some(check),
        }
    }

    /// One text value, checked by `check` where given.
    pub const fn text(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
        check: Option<CheckFn>,
    ) -> OptionSpec {
        OptionSpec {
            name,
            short: None,
            value_name,
            help,
            kind: OptionKind::Text { many: false },
            check,
        }
    }

    /// An output path: a file, or a directory where `directory`.
    pub const fn output(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
        directory: bool,
    ) -> OptionSpec {
        OptionSpec {
            name,
            short: None,
            value_name,
            help,
            kind: OptionKind::Output { directory },
            check: None,
        }
    }

    /// The same option with a one-letter flag.
    pub const fn short(self, letter: char) -> OptionSpec {
        OptionSpec {
            short: Some(letter),
            ..self
        }
    }
}

/// A named set of extra table columns (`--nsinfo`): a flag on the command line, a checkbox in the page.
/// Column sets change only the table; JSON and CSV always carry every key.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ColumnSet {
    /// The flag and the checkbox's label.
    pub name: &'static str,
    /// What the columns show.
    pub help: &'static str,
    /// The columns (flattened keys), added after the analysis's own.
    pub columns: &'static [&'static str],
}

/// One option's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// A flag's.
    Flag(bool),
    /// An integer list's.
    Integers(Vec<u64>),
    /// Text values (a repeatable text option's).
    Texts(Vec<String>),
    /// One text value (a choice's, an output path's, a single text option's).
    Text(String),
}

/// Why options cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// A name the analysis does not have.
    #[error("{analysis} has no option --{name}")]
    Unknown { analysis: String, name: String },
    /// A value of the wrong kind or out of range.
    #[error("--{name}: {why}")]
    Invalid { name: String, why: String },
}

fn invalid(name: &str, why: impl Into<String>) -> OptionError {
    OptionError::Invalid {
        name: name.to_string(),
        why: why.into(),
    }
}

/// The options a front end chose for one run, by name; what is absent has its default (off, empty).
///
/// They travel as JSON between the page and its worker (`{"threads": true, "pid": [1, 982]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Options(BTreeMap<String, OptionValue>);

impl Options {
    /// No option set: every analysis's defaults.
    pub fn new() -> Options {
        Options::default()
    }

    /// Set `name` to `value` (a flag set to false, or an empty list, is the same as unset).
    pub fn set(&mut self, name: &str, value: OptionValue) {
        let empty = match &value {
            OptionValue::Flag(on) => !on,
            OptionValue::Integers(v) => v.is_empty(),
            OptionValue::Texts(v) => v.is_empty(),
            OptionValue::Text(t) => t.is_empty(),
        };
        if empty {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_string(), value);
        }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Check every value against the options of `analysis`: each name declared, each value of its kind
    /// and accepted by its check.
    pub fn check(&self, analysis: &str, specs: &[OptionSpec]) -> Result<(), OptionError> {
        for (name, value) in &self.0 {
            let spec = specs
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| OptionError::Unknown {
                    analysis: analysis.to_string(),
                    name: name.clone(),
                })?;
            let texts: Vec<&str> = match (spec.kind, value) {
                (OptionKind::Flag, OptionValue::Flag(_)) | (OptionKind::Integers, OptionValue::Integers(_)) => {
                    Vec::new()
                }
                (OptionKind::Text { many: true }, OptionValue::Texts(v)) => v.iter().map(String::as_str).collect(),
                (OptionKind::Text { .. } | OptionKind::Output { .. }, OptionValue::Text(t)) => vec![t.as_str()],
                (OptionKind::Choice { choices }, OptionValue::Text(t)) => {
                    if !choices.contains(&t.as_str()) {
                        return Err(invalid(name, format!("{t:?} is not one of {}", choices.join(", "))));
                    }
                    Vec::new()
                }
                (kind, value) => return Err(invalid(name, format!("{value:?} is not a value for {kind:?}"))),
            };
            if let Some(check) = spec.check {
                for t in texts {
                    check(t).map_err(|why| invalid(name, why))?;
                }
            }
        }
        Ok(())
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&OptionValue> {
        self.0.get(name)
    }

    /// A flag's value (false when unset).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(OptionValue::Flag(true)))
    }

    /// An integer list as `u32`s (process ids, uids); empty when unset.
    pub fn u32s(&self, name: &str) -> Result<Vec<u32>, OptionError> {
        match self.0.get(name) {
            None => Ok(Vec::new()),
            Some(OptionValue::Integers(v)) => v
                .iter()
                .map(|&n| u32::try_from(n).map_err(|_| invalid(name, format!("{n} is too large"))))
                .collect(),
            Some(other) => Err(invalid(name, format!("{other:?} is not a list of integers"))),
        }
    }

    /// A single text value (a choice's, an output path's); `None` when unset.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(OptionValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A repeatable text option's values as given; empty when unset.
    pub fn texts(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(OptionValue::Texts(v)) => v.clone(),
            Some(OptionValue::Text(t)) => vec![t.clone()],
            _ => Vec::new(),
        }
    }

    /// A repeatable text option's values, each parsed; empty when unset.
    pub fn parsed<T: std::str::FromStr<Err = String>>(&self, name: &str) -> Result<Vec<T>, OptionError> {
        let texts: Vec<&str> = match self.0.get(name) {
            None => Vec::new(),
            Some(OptionValue::Texts(v)) => v.iter().map(String::as_str).collect(),
            Some(OptionValue::Text(t)) => vec![t.as_str()],
            Some(other) => return Err(invalid(name, format!("{other:?} is not text"))),
        };
        texts
            .into_iter()
            .map(|t| t.parse().map_err(|why| invalid(name, why)))
            .collect()
    }

    /// The options as command-line flags (`--pid 1 982 --threads`), in name order: what the page shows
    /// and writes into exports' file names and its report.
    pub fn to_flags(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.0 {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "--{name}");
            match value {
                OptionValue::Flag(_) => {}
                OptionValue::Integers(v) => v.iter().for_each(|n| {
                    let _ = write!(out, " {n}");
                }),
                OptionValue::Texts(v) => {
                    let mut first = true;
                    for t in v {
                        if !first {
                            let _ = write!(out, " --{name}");
                        }
                        first = false;
                        let _ = write!(out, " {t}");
                    }
                }
                OptionValue::Text(t) => {
                    let _ = write!(out, " {t}");
                }
            }
        }
        out
    }

    /// A file-name-safe form of [`Options::to_flags`] (`pid-1-982_threads`); empty for no options.
    pub fn file_suffix(&self) -> String {
        let safe = |t: &str| -> String {
            t.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
                .collect()
        };
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(name, value)| {
                let values: Vec<String> = match value {
                    OptionValue::Flag(_) => Vec::new(),
                    OptionValue::Integers(v) => v.iter().map(u64::to_string).collect(),
                    OptionValue::Texts(v) => v.iter().map(|t| safe(t)).collect(),
                    OptionValue::Text(t) => vec![safe(t)],
                };
                std::iter::once(safe(name)).chain(values).collect::<Vec<_>>().join("-")
            })
            .collect();
        parts.join("_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns_check(s: &str) -> Result<(), String> {
        s.contains(':')
            .then_some(())
            .ok_or_else(|| format!("{s:?} is not KIND:INODE"))
    }

    const SPECS: &[OptionSpec] = &[
        OptionSpec::flag("threads", "threads too"),
        OptionSpec::integers("pid", "PID", "only these"),
        OptionSpec::texts("ns", "KIND:INODE", "only in", ns_check),
    ];

    #[test]
    fn values_travel_as_plain_json_and_check_against_their_specs() {
        let o: Options =
            serde_json::from_str(r#"{"threads": true, "pid": [1, 982], "ns": ["net:4026531840"]}"#).unwrap();
        o.check("pslist", SPECS).unwrap();
        assert!(o.flag("threads"));
        assert_eq!(o.u32s("pid").unwrap(), vec![1, 982]);
        assert_eq!(o.to_flags(), "--ns net:4026531840 --pid 1 982 --threads");
        assert_eq!(o.file_suffix(), "ns-net-4026531840_pid-1-982_threads");
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"ns":["net:4026531840"],"pid":[1,982],"threads":true}"#
        );

        let unknown: Options = serde_json::from_str(r#"{"thread": true}"#).unwrap();
        assert!(matches!(
            unknown.check("pslist", SPECS),
            Err(OptionError::Unknown { .. })
        ));
        let wrong_kind: Options = serde_json::from_str(r#"{"threads": [1]}"#).unwrap();
        assert!(matches!(
            wrong_kind.check("pslist", SPECS),
            Err(OptionError::Invalid { .. })
        ));
        let bad_text: Options = serde_json::from_str(r#"{"ns": ["net"]}"#).unwrap();
        assert!(bad_text.check("pslist", SPECS).is_err());
        let too_big: Options = serde_json::from_str(r#"{"pid": [4294967296]}"#).unwrap();
        assert!(too_big.u32s("pid").is_err());
    }

    #[test]
    fn unset_and_empty_are_the_same() {
        let mut o = Options::new();
        o.set("threads", OptionValue::Flag(false));
        o.set("pid", OptionValue::Integers(Vec::new()));
        assert!(o.is_empty());
        assert_eq!(o.to_flags(), "");
        assert_eq!(o.file_suffix(), "");
        assert!(!o.flag("threads"));
        assert!(o.u32s("pid").unwrap().is_empty());
    }
}
