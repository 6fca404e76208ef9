//! C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint): origin, tree size,
//! root hash and optional extension lines, signed as a [`Note`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::{Note, Signer, VerifiedSignature, Verifier};

/// A log's tree head: the note text of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn check_line(line: &str, what: &'static str) -> Result<()> {
    if line.is_empty() || line.chars().any(|c| c < '\u{20}') {
        return Err(Error::MalformedCheckpoint(what));
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint of the tree of `size` leaves with root `root`. The origin
    /// must be a non-empty line; it should be a schema-less URL naming the
    /// log and match the signer's key name.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self> {
        let origin = origin.into();
        check_line(&origin, "origin must be a non-empty line")?;
        Ok(Self {
            origin,
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (discouraged by the spec: monitors cannot
    /// audit it).
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self> {
        let line = line.into();
        check_line(&line, "extension lines must be non-empty lines")?;
        self.extensions.push(line);
        Ok(self)
    }

    /// Parses note text: origin, decimal size without leading zeros, base64
    /// root hash, then extension lines; every line non-empty and
    /// newline-terminated.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_suffix('\n')
            .ok_or(Error::MalformedCheckpoint("text must end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::MalformedCheckpoint("fewer than three lines"));
        };
        check_line(origin, "empty origin")?;
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size =
            size.parse::<u64>()
                .ok()
                .filter(|_| size_ok)
                .ok_or(Error::MalformedCheckpoint(
                    "tree size is not canonical decimal",
                ))?;
        let root: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(Error::MalformedCheckpoint(
                "root hash is not base64 of 32 bytes",
            ))?;
        let mut checkpoint = Self::new(origin, size, root)?;
        for line in lines {
            checkpoint = checkpoint.with_extension(line)?;
        }
        Ok(checkpoint)
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text.
    pub fn body(&self) -> String {
        self.to_string()
    }

    /// An unsigned note of this checkpoint.
    pub fn to_note(&self) -> Note {
        Note::new(self.body()).expect("checkpoint lines are valid note text")
    }

    /// A note of this checkpoint signed by `signer`.
    pub fn sign(&self, signer: &Signer) -> Note {
        let mut note = self.to_note();
        note.sign(signer)
            .expect("a fresh note has room for a signature");
        note
    }

    /// Parses a signed checkpoint, verifies it with `verifier` (other
    /// signatures, e.g. cosignatures, are kept but not checked), and returns
    /// the checkpoint with its note.
    pub fn open(message: &str, verifier: &Verifier) -> Result<(Self, Note, VerifiedSignature)> {
        let note = Note::parse(message)?;
        let verified = note.verify(verifier)?;
        let checkpoint = Self::parse(note.text())?;
        Ok((checkpoint, note, verified))
    }
}

impl fmt::Display for Checkpoint {
    /// The note text, final newline included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", BASE64.encode(self.root))?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The checkpoint body of c2sp.org/tlog-checkpoint's example.
    const SPEC_BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parses_and_reprints_the_spec_example() {
        let c = Checkpoint::parse(SPEC_BODY).unwrap();
        assert_eq!(c.origin(), "example.com/behind-the-sofa");
        assert_eq!(c.size(), 20_852_163);
        assert_eq!(c.body(), SPEC_BODY);
    }

    #[test]
    fn extension_lines_round_trip() {
        let c = Checkpoint::new("o", 0, [0; 32])
            .unwrap()
            .with_extension("ext one")
            .unwrap();
        assert_eq!(Checkpoint::parse(&c.body()).unwrap(), c);
        assert!(c.clone().with_extension("").is_err());
        assert!(c.with_extension("a\nb").is_err());
    }

    #[test]
    fn rejects_malformed_bodies() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            String::new(),
            "o\n1\n".to_owned(),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{}\n", &root[..43]),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
    }
}
