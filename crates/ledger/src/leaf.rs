//! The canonical, versioned leaf encoding of archive events.
//!
//! A leaf carries no personal data: an event type, a pseudonymous member ID,
//! a time and a keyed commitment ([`commit`]) to the event's content, which
//! stays in the database. Version 1 encodes, with no padding or options:
//!
//! ```text
//! u8        version = 1
//! u8        event type length, 1..=64
//! [u8]      event type, printable ASCII without spaces
//! [u8; 16]  subject: pseudonymous member ID
//! i64       time, milliseconds since the Unix epoch, big-endian
//! [u8; 32]  commitment: HMAC-SHA256(key, content)
//! ```
//!
//! So every leaf has exactly one encoding; decoding rejects other versions,
//! invalid event types and trailing bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};

/// The leaf encoding version this crate writes and reads.
pub const LEAF_VERSION: u8 = 1;
/// Longest event type, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 64;

const SUBJECT_LEN: usize = 16;
const COMMITMENT_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The keyed commitment to an event's content: `HMAC-SHA256(key, content)`.
/// Without the key, a leaf reveals nothing about the content; with it, a
/// changed database row no longer matches its leaf.
pub fn commit(key: &[u8; 32], content: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(content);
    mac.finalize().into_bytes().into()
}

/// Whether `commitment` commits to `content` under `key`, compared in
/// constant time.
pub fn verify_commitment(key: &[u8; 32], content: &[u8], commitment: &[u8; 32]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(content);
    mac.verify_slice(commitment).is_ok()
}

/// Whether `event_type` is a valid event type: 1..=64 bytes of printable
/// ASCII (`!`..=`~`).
pub fn is_valid_event_type(event_type: &str) -> bool {
    (1..=MAX_EVENT_TYPE_LEN).contains(&event_type.len())
        && event_type.bytes().all(|b| b.is_ascii_graphic())
}

/// One archive event as logged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveLeaf {
    event_type: String,
    subject: [u8; SUBJECT_LEN],
    at_unix_ms: i64,
    commitment: [u8; COMMITMENT_LEN],
}

impl ArchiveLeaf {
    /// A version-1 leaf; the event type must satisfy
    /// [`is_valid_event_type`].
    pub fn new(
        event_type: impl Into<String>,
        subject: [u8; 16],
        at_unix_ms: i64,
        commitment: [u8; 32],
    ) -> Result<Self> {
        let event_type = event_type.into();
        if !is_valid_event_type(&event_type) {
            return Err(Error::MalformedLeaf(
                "event type must be 1..=64 bytes of printable ASCII",
            ));
        }
        Ok(Self {
            event_type,
            subject,
            at_unix_ms,
            commitment,
        })
    }

    /// The encoding version, always [`LEAF_VERSION`].
    pub fn version(&self) -> u8 {
        LEAF_VERSION
    }

    /// What happened, e.g. `member.registered`.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The pseudonymous member ID.
    pub fn subject(&self) -> &[u8; 16] {
        &self.subject
    }

    /// When, in milliseconds since the Unix epoch.
    pub fn at_unix_ms(&self) -> i64 {
        self.at_unix_ms
    }

    /// The commitment to the event's content.
    pub fn commitment(&self) -> &[u8; 32] {
        &self.commitment
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(2 + self.event_type.len() + SUBJECT_LEN + 8 + COMMITMENT_LEN);
        out.push(LEAF_VERSION);
        out.push(self.event_type.len() as u8);
        out.extend_from_slice(self.event_type.as_bytes());
        out.extend_from_slice(&self.subject);
        out.extend_from_slice(&self.at_unix_ms.to_be_bytes());
        out.extend_from_slice(&self.commitment);
        out
    }

    /// Decodes the canonical encoding, rejecting anything else.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let truncated = || Error::MalformedLeaf("truncated");
        let (&version, rest) = bytes.split_first().ok_or_else(truncated)?;
        if version != LEAF_VERSION {
            return Err(Error::UnsupportedLeafVersion(version));
        }
        let (&len, rest) = rest.split_first().ok_or_else(truncated)?;
        let len = usize::from(len);
        let expected = len + SUBJECT_LEN + 8 + COMMITMENT_LEN;
        if rest.len() < expected {
            return Err(truncated());
        }
        if rest.len() > expected {
            return Err(Error::MalformedLeaf("trailing bytes"));
        }
        let (event_type, rest) = rest.split_at(len);
        let (subject, rest) = rest.split_at(SUBJECT_LEN);
        let (at, commitment) = rest.split_at(8);
        let event_type = std::str::from_utf8(event_type)
            .map_err(|_| Error::MalformedLeaf("event type is not ASCII"))?;
        Self::new(
            event_type,
            subject.try_into().expect("16 bytes"),
            i64::from_be_bytes(at.try_into().expect("8 bytes")),
            commitment.try_into().expect("32 bytes"),
        )
    }

    /// The leaf's hash in the log: `SHA-256(0x00 ‖ encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArchiveLeaf {
        ArchiveLeaf::new(
            "member.registered",
            [0xab; 16],
            1_700_000_000_123,
            commit(&[1; 32], "张三 入党申请".as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn encoding_is_exact() {
        let leaf = ArchiveLeaf::new("t", [1; 16], -2, [3; 32]).unwrap();
        let mut want = vec![1, 1, b't'];
        want.extend([1; 16]);
        want.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        want.extend([3; 32]);
        assert_eq!(leaf.encode(), want);
        assert_eq!(ArchiveLeaf::decode(&want).unwrap(), leaf);
    }

    #[test]
    fn round_trip() {
        let leaf = sample();
        let bytes = leaf.encode();
        assert_eq!(ArchiveLeaf::decode(&bytes).unwrap(), leaf);
        assert_eq!(leaf.leaf_hash(), leaf_hash(&bytes));
        assert_eq!(leaf.version(), 1);
    }

    #[test]
    fn decode_rejects_non_canonical_input() {
        let bytes = sample().encode();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            ArchiveLeaf::decode(&trailing),
            Err(Error::MalformedLeaf("trailing bytes"))
        ));
        for cut in 0..bytes.len() {
            assert!(ArchiveLeaf::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(matches!(
            ArchiveLeaf::decode(&v2),
            Err(Error::UnsupportedLeafVersion(2))
        ));
        let mut empty_type = vec![1, 0];
        empty_type.extend([0; 56]);
        assert!(ArchiveLeaf::decode(&empty_type).is_err());
        let mut spaced = bytes;
        spaced[3] = b' ';
        assert!(ArchiveLeaf::decode(&spaced).is_err());
    }

    #[test]
    fn event_type_limits() {
        assert!(ArchiveLeaf::new("a".repeat(64), [0; 16], 0, [0; 32]).is_ok());
        assert!(ArchiveLeaf::new("a".repeat(65), [0; 16], 0, [0; 32]).is_err());
        assert!(ArchiveLeaf::new("", [0; 16], 0, [0; 32]).is_err());
        assert!(ArchiveLeaf::new("入党", [0; 16], 0, [0; 32]).is_err());
        assert!(ArchiveLeaf::new("a b", [0; 16], 0, [0; 32]).is_err());
    }

    #[test]
    fn commitment_is_hmac_sha256() {
        // RFC 4231 test case 2 ("Jefe") needs a short key; use case 1's data
        // with a 32-byte key checked against an independent HMAC instead.
        let key = [0x0b; 32];
        let c = commit(&key, b"Hi There");
        let mut mac = HmacSha256::new_from_slice(&key).unwrap();
        mac.update(b"Hi There");
        assert_eq!(c.as_slice(), mac.finalize().into_bytes().as_slice());
        assert!(verify_commitment(&key, b"Hi There", &c));
        assert!(!verify_commitment(&key, b"Hi there", &c));
        assert!(!verify_commitment(&[0x0c; 32], b"Hi There", &c));
    }
}
