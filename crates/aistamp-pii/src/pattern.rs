//! Custom patterns: [`CustomPattern`], their errors, and (with the `yaml`
//! feature) loading them from a patterns file.

use std::fmt;

use crate::severity::Severity;

/// The most memory one custom regex may compile to.
pub(crate) const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// A named regular expression to scan for next to the built-in recognizers.
///
/// The regex uses the syntax of the [`regex`] crate (no look-around, no
/// back-references). Its matches are reported with the pattern's name and
/// severity; empty matches are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomPattern {
    /// The name reported with each match, such as `EMPLOYEE_ID`.
    pub name: String,
    /// The regular expression.
    pub regex: String,
    /// The severity reported with each match.
    pub severity: Severity,
    /// An optional kind label (kept for the caller; not used by the scanner).
    pub pii_type: Option<String>,
    /// An optional human description.
    pub description: Option<String>,
}

impl CustomPattern {
    /// A pattern with no kind label and no description.
    pub fn new(name: impl Into<String>, regex: impl Into<String>, severity: Severity) -> Self {
        CustomPattern {
            name: name.into(),
            regex: regex.into(),
            severity,
            pii_type: None,
            description: None,
        }
    }

    /// Compiles the regex with the limits the scanner uses.
    pub(crate) fn compile(&self, index: usize) -> Result<regex::Regex, PatternError> {
        if self.name.trim().is_empty() {
            return Err(PatternError::new(index, None, Problem::EmptyName));
        }
        regex::RegexBuilder::new(&self.regex)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| {
                PatternError::new(index, Some(&self.name), Problem::InvalidRegex(err.to_string()))
            })
    }
}

/// Why a custom pattern or a patterns file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    index: Option<usize>,
    name: Option<String>,
    problem: Problem,
}

/// What was wrong, without saying where; see [`PatternError::problem`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The patterns file could not be read.
    Io(String),
    /// The patterns file is not valid YAML.
    Yaml(String),
    /// The file has no top-level `patterns` list, or it is not a list.
    NoPatternList,
    /// The entry is not a mapping.
    NotAMapping,
    /// A required field is absent.
    MissingField(&'static str),
    /// A field has the wrong type (the field and the type expected).
    WrongType(&'static str, &'static str),
    /// Both `regex` and `pattern` are given, with different values.
    ConflictingRegex,
    /// The name is empty.
    EmptyName,
    /// The severity is not HIGH, MEDIUM or LOW.
    InvalidSeverity(String),
    /// The regex does not compile (the regex crate's message).
    InvalidRegex(String),
}

impl PatternError {
    pub(crate) fn new(index: usize, name: Option<&str>, problem: Problem) -> Self {
        PatternError { index: Some(index), name: name.map(str::to_owned), problem }
    }

    #[cfg(feature = "yaml")]
    pub(crate) fn file(problem: Problem) -> Self {
        PatternError { index: None, name: None, problem }
    }

    /// The zero-based position of the entry in the list, when the error is
    /// about one entry.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// The entry's name, when it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// What was wrong.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match (self.index, &self.name) {
            (Some(i), Some(name)) => format!("pattern '{name}' (patterns[{i}])"),
            (Some(i), None) => format!("patterns[{i}]"),
            (None, _) => "the patterns file".to_owned(),
        };
        match &self.problem {
            Problem::Io(msg) => write!(f, "cannot read the patterns file: {msg}"),
            Problem::Yaml(msg) => write!(f, "invalid YAML in the patterns file: {msg}"),
            Problem::NoPatternList => {
                write!(
                    f,
                    "missing top-level 'patterns' list in {place}: expected 'patterns:' with a list of entries"
                )
            }
            Problem::NotAMapping => {
                write!(f, "invalid entry {place}: expected a mapping with name, regex and severity")
            }
            Problem::MissingField(field) => write!(f, "missing field '{field}' in {place}"),
            Problem::WrongType(field, expected) => {
                write!(f, "invalid field '{field}' in {place}: expected {expected}")
            }
            Problem::ConflictingRegex => {
                write!(f, "conflicting fields 'regex' and 'pattern' in {place}: expected one regex")
            }
            Problem::EmptyName => write!(f, "empty name in {place}: expected a non-empty name"),
            Problem::InvalidSeverity(value) => {
                write!(f, "invalid severity '{value}' in {place}: expected HIGH, MEDIUM or LOW")
            }
            Problem::InvalidRegex(msg) => write!(f, "invalid regex in {place}: {msg}"),
        }
    }
}

impl std::error::Error for PatternError {}

#[cfg(feature = "yaml")]
pub use self::yaml::{load_patterns_from_yaml_file, load_patterns_from_yaml_str};

#[cfg(feature = "yaml")]
mod yaml {
    use std::path::Path;

    use yaml_serde::{Mapping, Value};

    use super::{CustomPattern, PatternError, Problem};

    /// Reads custom patterns from YAML text.
    ///
    /// The text holds a top-level `patterns:` list; each entry has `name`,
    /// the regex under `regex` or `pattern`, `severity` (`HIGH`, `MEDIUM` or
    /// `LOW`, any case), and optional `pii_type` and `description`. Other
    /// keys are ignored. Every regex is compiled here, so a bad one is
    /// reported now rather than when scanning.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] naming the entry (its index and name) and the
    /// problem: invalid YAML, no `patterns` list, a missing field, a field of
    /// the wrong type, an unknown severity, or a regex that does not compile.
    ///
    /// # Example
    ///
    /// ```
    /// let yaml = "patterns:\n  - name: EMPLOYEE_ID\n    regex: 'EMP-\\d{6}'\n    severity: high\n";
    /// let patterns = aistamp_pii::load_patterns_from_yaml_str(yaml)?;
    /// assert_eq!(patterns[0].name, "EMPLOYEE_ID");
    /// # Ok::<(), aistamp_pii::PatternError>(())
    /// ```
    pub fn load_patterns_from_yaml_str(text: &str) -> Result<Vec<CustomPattern>, PatternError> {
        let doc: Value = yaml_serde::from_str(text)
            .map_err(|err| PatternError::file(Problem::Yaml(err.to_string())))?;
        let entries = match &doc {
            Value::Mapping(map) => match map.get("patterns") {
                Some(Value::Sequence(entries)) => entries.as_slice(),
                Some(Value::Null) => &[],
                _ => return Err(PatternError::file(Problem::NoPatternList)),
            },
            _ => return Err(PatternError::file(Problem::NoPatternList)),
        };
        entries.iter().enumerate().map(|(index, entry)| parse_entry(index, entry)).collect()
    }

    /// Reads custom patterns from a YAML file; see
    /// [`load_patterns_from_yaml_str`] for the format.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] when the file cannot be read or is not valid UTF-8,
    /// or for any of the reasons [`load_patterns_from_yaml_str`] gives.
    pub fn load_patterns_from_yaml_file(
        path: impl AsRef<Path>,
    ) -> Result<Vec<CustomPattern>, PatternError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|err| {
            PatternError::file(Problem::Io(format!("'{}': {err}", path.display())))
        })?;
        load_patterns_from_yaml_str(&text)
    }

    fn text_field(
        map: &Mapping,
        field: &'static str,
        index: usize,
        name: Option<&str>,
    ) -> Result<Option<String>, PatternError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if field != "regex" && field != "pattern" => {
                Ok(Some(n.to_string()))
            }
            Some(_) => Err(PatternError::new(index, name, Problem::WrongType(field, "a string"))),
        }
    }

    fn parse_entry(index: usize, entry: &Value) -> Result<CustomPattern, PatternError> {
        let Value::Mapping(map) = entry else {
            return Err(PatternError::new(index, None, Problem::NotAMapping));
        };
        let name = text_field(map, "name", index, None)?
            .ok_or_else(|| PatternError::new(index, None, Problem::MissingField("name")))?;
        let named = Some(name.as_str());
        let err = |problem| PatternError::new(index, named, problem);

        let regex = match (
            text_field(map, "regex", index, named)?,
            text_field(map, "pattern", index, named)?,
        ) {
            (Some(a), Some(b)) if a != b => return Err(err(Problem::ConflictingRegex)),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(err(Problem::MissingField("regex"))),
        };
        let severity_text = text_field(map, "severity", index, named)?
            .ok_or_else(|| err(Problem::MissingField("severity")))?;
        let severity =
            severity_text.parse().map_err(|_| err(Problem::InvalidSeverity(severity_text)))?;

        let pattern = CustomPattern {
            pii_type: text_field(map, "pii_type", index, named)?,
            description: text_field(map, "description", index, named)?,
            name,
            regex,
            severity,
        };
        pattern.compile(index)?;
        Ok(pattern)
    }
}

#[cfg(all(test, feature = "yaml"))]
mod tests {
    use super::*;

    #[test]
    fn loads_both_regex_spellings_and_any_severity_case() {
        let yaml = r#"
patterns:
  - name: EMPLOYEE_ID
    regex: 'EMP-\d{6}'
    severity: high
    pii_type: employee
  - name: BADGE
    pattern: 'BDG\d+'
    severity: Low
    description: Door badge numbers
"#;
        let patterns = load_patterns_from_yaml_str(yaml).unwrap();
        assert_eq!(patterns.len(), 2);
        assert_eq!(patterns[0].regex, r"EMP-\d{6}");
        assert_eq!(patterns[0].severity, Severity::High);
        assert_eq!(patterns[0].pii_type.as_deref(), Some("employee"));
        assert_eq!(patterns[1].severity, Severity::Low);
        assert_eq!(patterns[1].description.as_deref(), Some("Door badge numbers"));
    }

    #[test]
    fn errors_name_the_entry_and_the_problem() {
        let cases = [
            ("patterns:\n  - regex: x\n    severity: LOW\n", "missing field 'name' in patterns[0]"),
            (
                "patterns:\n  - name: a\n    regex: x\n    severity: LOW\n  - name: b\n    severity: LOW\n",
                "missing field 'regex' in pattern 'b' (patterns[1])",
            ),
            (
                "patterns:\n  - name: employee_id\n    regex: x\n    severity: HGH\n",
                "invalid severity 'HGH' in pattern 'employee_id' (patterns[0]): expected HIGH, MEDIUM or LOW",
            ),
            ("other: 1\n", "missing top-level 'patterns' list in the patterns file"),
            ("patterns:\n  - just a string\n", "invalid entry patterns[0]"),
            (
                "patterns:\n  - name: a\n    regex: [1]\n    severity: LOW\n",
                "invalid field 'regex'",
            ),
            ("patterns: [\n", "invalid YAML in the patterns file"),
        ];
        for (yaml, expected) in cases {
            let err = load_patterns_from_yaml_str(yaml).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err:?} should start with {expected:?}");
        }
    }

    #[test]
    fn reports_invalid_regexes_at_load_time() {
        let yaml = "patterns:\n  - name: LOOKBEHIND\n    regex: '(?<=x)y'\n    severity: LOW\n";
        let err = load_patterns_from_yaml_str(yaml).unwrap_err();
        assert_eq!(err.index(), Some(0));
        assert_eq!(err.name(), Some("LOOKBEHIND"));
        assert!(matches!(err.problem(), Problem::InvalidRegex(_)));
        assert!(
            err.to_string().starts_with("invalid regex in pattern 'LOOKBEHIND' (patterns[0]): ")
        );
    }

    #[test]
    fn an_empty_list_loads_as_no_patterns() {
        assert_eq!(load_patterns_from_yaml_str("patterns:\n").unwrap(), vec![]);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_path() {
        let err = load_patterns_from_yaml_file("/nonexistent/patterns.yaml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/patterns.yaml"), "{err}");
    }
}
