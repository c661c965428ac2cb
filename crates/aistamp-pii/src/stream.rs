//! Scanning a reader in chunks, in bounded memory: [`Scanner::scan_reader`].

use std::fmt;
use std::io::{ErrorKind, Read};

use crate::scanner::{Match, Place, Scanner};
use crate::severity::Severity;
use crate::text::count_chars;

/// Chunk size and overlap for [`Scanner::scan_reader_with`].
///
/// Each round reads `chunk_size` new bytes and scans them together with
/// `overlap` bytes on each side, so a match is found exactly once and its
/// snippet is complete as long as it is shorter than the overlap minus the
/// snippet's context (about 100 bytes). Memory stays near
/// `chunk_size + 2 * overlap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    chunk_size: usize,
    overlap: usize,
}

impl Default for ReadOptions {
    /// 1 MiB chunks with 64 KiB of overlap.
    fn default() -> Self {
        ReadOptions { chunk_size: 1 << 20, overlap: 64 << 10 }
    }
}

impl ReadOptions {
    /// Options with the given chunk size (at least 4 bytes) and overlap (at
    /// least 1 byte).
    pub fn new(chunk_size: usize, overlap: usize) -> Self {
        ReadOptions { chunk_size: chunk_size.max(4), overlap: overlap.max(1) }
    }

    /// New bytes read per round.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Bytes rescanned on each side of a chunk.
    pub fn overlap(&self) -> usize {
        self.overlap
    }
}

/// Totals of a [`Scanner::scan_reader`] run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Bytes read.
    pub bytes: u64,
    /// Code points read.
    pub chars: u64,
    /// Matches reported.
    pub matches: u64,
    /// The highest severity among the matches, `None` when there were none.
    pub highest_severity: Option<Severity>,
}

/// Why [`Scanner::scan_reader`] stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScanError {
    /// The input is not UTF-8; `byte_offset` is where the first bad sequence
    /// starts.
    InvalidUtf8 {
        /// Offset of the first byte that is not part of valid UTF-8.
        byte_offset: u64,
    },
    /// Reading failed.
    Io(std::io::Error),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::InvalidUtf8 { byte_offset } => {
                write!(f, "invalid UTF-8 at byte offset {byte_offset}: expected UTF-8 text")
            }
            ScanError::Io(err) => write!(f, "cannot read the input: {err}"),
        }
    }
}

impl std::error::Error for ScanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScanError::Io(err) => Some(err),
            ScanError::InvalidUtf8 { .. } => None,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Scanner {
    /// Scans everything `reader` yields, in 1 MiB chunks, calling `on_match`
    /// with each match in order. Offsets are global: code points (and bytes)
    /// from the start of the input. The results are those [`Scanner::scan`]
    /// gives on the whole text, for matches shorter than the overlap (64 KiB).
    ///
    /// # Errors
    ///
    /// [`ScanError::InvalidUtf8`] with the byte offset of the first invalid
    /// sequence, or [`ScanError::Io`] when reading fails. Matches before the
    /// failing chunk have already been reported.
    ///
    /// # Example
    ///
    /// ```
    /// let scanner = aistamp_pii::Scanner::new();
    /// let mut found = Vec::new();
    /// let summary = scanner.scan_reader("ssn 123-45-6789".as_bytes(), |m| found.push(m))?;
    /// assert_eq!(summary.matches, 1);
    /// assert_eq!(found[0].start, 4);
    /// # Ok::<(), aistamp_pii::ScanError>(())
    /// ```
    pub fn scan_reader(
        &self,
        reader: impl Read,
        on_match: impl FnMut(Match),
    ) -> Result<ScanSummary, ScanError> {
        self.scan_reader_with(reader, ReadOptions::default(), on_match)
    }

    /// [`Scanner::scan_reader`] with a chosen chunk size and overlap.
    ///
    /// # Errors
    ///
    /// As [`Scanner::scan_reader`].
    pub fn scan_reader_with(
        &self,
        mut reader: impl Read,
        options: ReadOptions,
        mut on_match: impl FnMut(Match),
    ) -> Result<ScanSummary, ScanError> {
        let ReadOptions { chunk_size, overlap } = options;
        let mut summary = ScanSummary::default();
        let mut buf: Vec<u8> = Vec::new();
        // Global offsets of `buf[0]`.
        let mut base_bytes = 0usize;
        let mut base_chars = 0usize;
        // Matches starting before this offset in `buf` were reported already.
        let mut emit_from = 0usize;
        let mut eof = false;

        loop {
            // Fill the buffer: what is kept, a new chunk and the overlap after
            // it, and always at least one chunk more than it holds, so that
            // every round reads new bytes until the end of the input.
            let target = (emit_from + chunk_size + overlap).max(buf.len() + chunk_size);
            while buf.len() < target && !eof {
                let old = buf.len();
                buf.resize(target, 0);
                match reader.read(&mut buf[old..]) {
                    Ok(0) => {
                        buf.truncate(old);
                        eof = true;
                    }
                    Ok(n) => buf.truncate(old + n),
                    Err(err) if err.kind() == ErrorKind::Interrupted => buf.truncate(old),
                    Err(err) => return Err(ScanError::Io(err)),
                }
            }

            // Decode; a character cut by the chunk's end waits for the next round.
            let text = match std::str::from_utf8(&buf) {
                Ok(text) => text,
                Err(err) if err.error_len().is_none() && !eof => {
                    std::str::from_utf8(&buf[..err.valid_up_to()]).unwrap_or_default()
                }
                Err(err) => {
                    return Err(ScanError::InvalidUtf8 {
                        byte_offset: (base_bytes + err.valid_up_to()) as u64,
                    });
                }
            };

            // Report the matches that start in [emit_from, cut).
            // The cut never moves back: a round whose text is cut short by an
            // unfinished character reports nothing twice.
            let cut = if eof {
                text.len()
            } else {
                floor_char_boundary(text, text.len() - overlap.min(text.len()))
            }
            .max(emit_from);
            let spans = self.find_spans(text);
            let lo = spans.partition_point(|s| s.start < emit_from);
            let hi = spans.partition_point(|s| s.start < cut);
            let place = Place {
                base_chars,
                more_before: base_bytes > 0,
                more_after: !eof || text.len() < buf.len(),
            };
            self.emit(text, &spans, lo..hi, place, |m| {
                summary.matches += 1;
                summary.highest_severity = summary.highest_severity.max(Some(m.severity));
                on_match(Match {
                    byte_range: m.byte_range.start + base_bytes..m.byte_range.end + base_bytes,
                    ..m
                });
            });

            if eof {
                summary.bytes = (base_bytes + text.len()) as u64;
                summary.chars = (base_chars + count_chars(text, 0..text.len())) as u64;
                return Ok(summary);
            }

            // Keep `overlap` bytes before the cut as context for the next round.
            let keep_from = floor_char_boundary(text, cut.saturating_sub(overlap));
            base_chars += count_chars(text, 0..keep_from);
            base_bytes += keep_from;
            buf.drain(..keep_from);
            emit_from = cut - keep_from;
        }
    }
}
