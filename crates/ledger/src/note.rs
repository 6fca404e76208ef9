//! C2SP signed notes (c2sp.org/signed-note): Ed25519 signers and verifiers,
//! verifier key strings, and timestamped witness cosignatures
//! (c2sp.org/tlog-cosignature, `cosignature/v1`).
//!
//! A note is a text ending in a newline, a blank line, and signature lines
//! `— <key name> <base64(key ID ‖ signature)>`. The key ID is
//! `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]`, big-endian, with type
//! 0x01 for plain Ed25519 and 0x04 for Ed25519 cosignatures. Verifiers ignore
//! signatures by keys they do not know, must check those by keys they know,
//! and reject the note when one of those fails or none is present.
//!
//! Key strings follow golang.org/x/mod/sumdb/note: a verifier key is
//! `<name>+<hex key ID>+<base64(type ‖ public key)>`, a signer key is
//! `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ 32-byte seed)>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};

/// Most signature lines a parsed note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Prefix of every signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
const COSIGNATURE_HEADER: &str = "cosignature/v1";
const TIMESTAMP_LEN: usize = 8;
const ED25519_SIGNATURE_LEN: usize = 64;

/// The signature types this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text (log checkpoint signatures).
    Ed25519,
    /// 0x04: timestamped Ed25519 witness cosignature, `cosignature/v1`.
    CosignatureV1,
}

impl KeyType {
    /// The signature type identifier byte.
    pub const fn id(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    /// The type with identifier byte `id`.
    pub fn from_id(id: u8) -> Result<Self> {
        match id {
            0x01 => Ok(Self::Ed25519),
            0x04 => Ok(Self::CosignatureV1),
            other => Err(Error::UnsupportedKeyType(other)),
        }
    }
}

/// The key ID of an Ed25519 key of `key_type` named `name`:
/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public_key: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([key_type.id()])
        .chain_update(public_key.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Whether `name` may name a key: non-empty, no Unicode space, no plus, no
/// control character.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

fn check_key_name(name: &str) -> Result<()> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidKeyName(name.to_owned()))
    }
}

/// Parses `<hex key ID>` exactly as eight hexadecimal digits.
fn parse_key_id(hex8: &str) -> Result<u32> {
    if hex8.len() != 8 || !hex8.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedKey("key ID is not eight hex digits"));
    }
    u32::from_str_radix(hex8, 16).map_err(|_| Error::MalformedKey("key ID"))
}

fn decode_typed_key(b64: &str) -> Result<(KeyType, [u8; 32])> {
    let raw = BASE64
        .decode(b64)
        .map_err(|_| Error::MalformedKey("key material is not base64"))?;
    let (&type_id, key) = raw
        .split_first()
        .ok_or(Error::MalformedKey("empty key material"))?;
    let key_type = KeyType::from_id(type_id)?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| Error::MalformedKey("Ed25519 key material is not 32 bytes"))?;
    Ok((key_type, key))
}

fn encode_typed_key(key_type: KeyType, key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(key_type.id());
    raw.extend_from_slice(key);
    BASE64.encode(raw)
}

/// The message a `cosignature/v1` signs: header, time line, checkpoint body.
fn cosigned_message(timestamp: u64, text: &str) -> String {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}")
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature by key `name`/`key_id`; `signature` excludes the key ID.
    pub fn new(name: impl Into<String>, key_id: u32, signature: Vec<u8>) -> Result<Self> {
        let name = name.into();
        check_key_name(&name)?;
        if signature.is_empty() {
            return Err(Error::MalformedNote("empty signature"));
        }
        Ok(Self {
            name,
            key_id,
            signature,
        })
    }

    /// Parses one line without its newline: `— <name> <base64>`.
    pub fn parse_line(line: &str) -> Result<Self> {
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(Error::MalformedNote("signature line must start with '— '"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(Error::MalformedNote("signature line has no signature"))?;
        if !is_valid_key_name(name) {
            return Err(Error::MalformedNote("invalid key name in signature line"));
        }
        let raw = BASE64
            .decode(b64)
            .map_err(|_| Error::MalformedNote("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(Error::MalformedNote("signature too short"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }

    /// The signing key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The timestamp of an Ed25519 `cosignature/v1`, read without verifying
    /// it; `None` if the signature does not have that shape.
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        if self.signature.len() != TIMESTAMP_LEN + ED25519_SIGNATURE_LEN {
            return None;
        }
        let mut ts = [0u8; TIMESTAMP_LEN];
        ts.copy_from_slice(&self.signature[..TIMESTAMP_LEN]);
        Some(u64::from_be_bytes(ts))
    }

    /// The line, without its newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, BASE64.encode(raw))
    }

    fn is_by(&self, name: &str, key_id: u32) -> bool {
        self.key_id == key_id && self.name == name
    }
}

/// A signed note: its text and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key's name.
    pub name: String,
    /// The key's ID.
    pub key_id: u32,
    /// The kind of key.
    pub key_type: KeyType,
    /// For a cosignature, the time (POSIX seconds) it states.
    pub timestamp: Option<u64>,
}

fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(Error::MalformedNote("text must end with a newline"));
    }
    check_no_controls(text)
}

fn check_no_controls(s: &str) -> Result<()> {
    if s.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(Error::MalformedNote("control character other than newline"));
    }
    Ok(())
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline and hold no
    /// control character but newlines.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_text(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Signatures are not checked; see
    /// [`Note::verify`].
    pub fn parse(message: &str) -> Result<Self> {
        check_no_controls(message)?;
        let split = message
            .rfind("\n\n")
            .ok_or(Error::MalformedNote("no blank line before signatures"))?;
        let (text, block) = (&message[..=split], &message[split + 2..]);
        if block.is_empty() || !block.ends_with('\n') {
            return Err(Error::MalformedNote(
                "signature block missing or not newline-terminated",
            ));
        }
        let mut signatures = Vec::new();
        for line in block[..block.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Error::MalformedNote("too many signatures"));
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing any by the same key.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<()> {
        self.signatures
            .retain(|s| !s.is_by(&signature.name, signature.key_id));
        if self.signatures.len() == MAX_SIGNATURES {
            return Err(Error::MalformedNote("too many signatures"));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with `signer`, replacing its earlier signature if any.
    pub fn sign(&mut self, signer: &Signer) -> Result<()> {
        let signature = signer.sign(&self.text);
        self.add_signature(signature)
    }

    /// Cosigns the text, which must be a checkpoint, as of `timestamp`.
    pub fn cosign(&mut self, cosigner: &Cosigner, timestamp: u64) -> Result<()> {
        let signature = cosigner.cosign(&self.text, timestamp)?;
        self.add_signature(signature)
    }

    /// Verifies the signatures by `verifier`'s key: there must be one, and
    /// every one must verify. Signatures by other keys are ignored.
    pub fn verify(&self, verifier: &Verifier) -> Result<VerifiedSignature> {
        let mut verified = None;
        for signature in &self.signatures {
            if signature.is_by(&verifier.name, verifier.key_id) {
                let timestamp = verifier.verify_signature(&self.text, &signature.signature)?;
                verified.get_or_insert(VerifiedSignature {
                    name: verifier.name.clone(),
                    key_id: verifier.key_id,
                    key_type: verifier.key_type,
                    timestamp,
                });
            }
        }
        verified.ok_or(Error::NoKnownSignature)
    }

    /// Verifies every signature by one of `verifiers` and returns one entry
    /// per key that signed. Signatures by unknown keys are ignored; a failing
    /// one by a known key, or none by any known key, is an error.
    pub fn verify_any(&self, verifiers: &[Verifier]) -> Result<Vec<VerifiedSignature>> {
        let mut out: Vec<VerifiedSignature> = Vec::new();
        for signature in &self.signatures {
            let mut known = verifiers
                .iter()
                .filter(|v| signature.is_by(&v.name, v.key_id));
            let Some(verifier) = known.next() else {
                continue;
            };
            if known.next().is_some() {
                return Err(Error::AmbiguousKey {
                    name: verifier.name.clone(),
                    key_id: verifier.key_id,
                });
            }
            let timestamp = verifier.verify_signature(&self.text, &signature.signature)?;
            if !out
                .iter()
                .any(|v| v.key_id == verifier.key_id && v.name == verifier.name)
            {
                out.push(VerifiedSignature {
                    name: verifier.name.clone(),
                    key_id: verifier.key_id,
                    key_type: verifier.key_type,
                    timestamp,
                });
            }
        }
        if out.is_empty() {
            return Err(Error::NoKnownSignature);
        }
        Ok(out)
    }
}

impl fmt::Display for Note {
    /// The encoded note: text, blank line, one line per signature.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.text)?;
        for signature in &self.signatures {
            writeln!(f, "{}", signature.to_line())?;
        }
        Ok(())
    }
}

impl FromStr for Note {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A public key that checks signatures of one type under one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    key_type: KeyType,
    key: VerifyingKey,
}

impl Verifier {
    /// A verifier for `key` of `key_type` named `name`.
    pub fn new(name: impl Into<String>, key_type: KeyType, key: VerifyingKey) -> Result<Self> {
        let name = name.into();
        check_key_name(&name)?;
        if key.is_weak() {
            return Err(Error::MalformedKey("weak (small-order) Ed25519 key"));
        }
        Ok(Self {
            key_id: key_id(&name, key_type, &key),
            name,
            key_type,
            key,
        })
    }

    /// Parses a verifier key string `<name>+<hex key ID>+<base64(type ‖ key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::MalformedKey(
                "verifier key needs three '+'-separated parts",
            ));
        };
        check_key_name(name)?;
        let stated = parse_key_id(id)?;
        let (key_type, key) = decode_typed_key(key)?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| Error::MalformedKey("not an Ed25519 public key"))?;
        let verifier = Self::new(name, key_type, key)?;
        if verifier.key_id != stated {
            return Err(Error::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(self.key_type, self.key.as_bytes())
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks `signature` (key ID removed) over note `text`; for a
    /// cosignature, returns the time it states.
    pub fn verify_signature(&self, text: &str, signature: &[u8]) -> Result<Option<u64>> {
        let invalid = || Error::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        match self.key_type {
            KeyType::Ed25519 => {
                let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
                self.key
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| invalid())?;
                Ok(None)
            }
            KeyType::CosignatureV1 => {
                if signature.len() != TIMESTAMP_LEN + ED25519_SIGNATURE_LEN {
                    return Err(invalid());
                }
                let (ts, signature) = signature.split_at(TIMESTAMP_LEN);
                let timestamp = u64::from_be_bytes(ts.try_into().expect("eight bytes"));
                if timestamp > i64::MAX as u64 {
                    return Err(invalid());
                }
                let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
                self.key
                    .verify_strict(cosigned_message(timestamp, text).as_bytes(), &signature)
                    .map_err(|_| invalid())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl FromStr for Verifier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_vkey(s)
    }
}

/// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ seed)>`, checking
/// the key ID against the derived public key and the stated type.
fn parse_skey(skey: &str, accepted: &[KeyType]) -> Result<(String, SigningKey)> {
    let mut parts = skey.splitn(5, '+');
    let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Error::MalformedKey(
            "signer key must be PRIVATE+KEY+name+id+key",
        ));
    };
    check_key_name(name)?;
    let stated = parse_key_id(id)?;
    let (key_type, seed) = decode_typed_key(key)?;
    if !accepted.contains(&key_type) {
        return Err(Error::UnsupportedKeyType(key_type.id()));
    }
    let signing_key = SigningKey::from_bytes(&seed);
    if key_id(name, key_type, &signing_key.verifying_key()) != stated {
        return Err(Error::KeyIdMismatch);
    }
    Ok((name.to_owned(), signing_key))
}

fn format_skey(name: &str, key_type: KeyType, key: &SigningKey) -> String {
    format!(
        "PRIVATE+KEY+{}+{:08x}+{}",
        name,
        key_id(name, key_type, &key.verifying_key()),
        encode_typed_key(key_type, &key.to_bytes())
    )
}

/// A log's Ed25519 note signer (type 0x01).
#[derive(Clone)]
pub struct Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl Signer {
    /// A signer named `name` (which should be the log's origin).
    pub fn new(name: impl Into<String>, key: SigningKey) -> Result<Self> {
        let name = name.into();
        check_key_name(&name)?;
        Ok(Self {
            key_id: key_id(&name, KeyType::Ed25519, &key.verifying_key()),
            name,
            key,
        })
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>`.
    pub fn from_skey(skey: &str) -> Result<Self> {
        let (name, key) = parse_skey(skey, &[KeyType::Ed25519])?;
        Self::new(name, key)
    }

    /// The signer key string. It holds the private key: keep it secret.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, KeyType::Ed25519, &self.key)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: KeyType::Ed25519,
            key: self.key.verifying_key(),
        }
    }

    /// Signs note text.
    pub fn sign(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A witness's Ed25519 cosigner (type 0x04, `cosignature/v1`).
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner named `name` (a witness name, not the log's origin).
    pub fn new(name: impl Into<String>, key: SigningKey) -> Result<Self> {
        let name = name.into();
        check_key_name(&name)?;
        Ok(Self {
            key_id: key_id(&name, KeyType::CosignatureV1, &key.verifying_key()),
            name,
            key,
        })
    }

    /// Parses a signer key string whose type byte is 0x04, or 0x01 (a plain
    /// Ed25519 key reused for cosigning, as Go's witness tooling allows).
    pub fn from_skey(skey: &str) -> Result<Self> {
        let (name, key) = parse_skey(skey, &[KeyType::CosignatureV1, KeyType::Ed25519])?;
        Self::new(name, key)
    }

    /// The signer key string (type 0x04). It holds the private key.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, KeyType::CosignatureV1, &self.key)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: KeyType::CosignatureV1,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns checkpoint text as of `timestamp` (POSIX seconds, at most
    /// 2^63−1). The text must parse as a checkpoint.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<NoteSignature> {
        if timestamp > i64::MAX as u64 {
            return Err(Error::MalformedNote("cosignature timestamp above 2^63-1"));
        }
        Checkpoint::parse(checkpoint_text)?;
        let message = cosigned_message(timestamp, checkpoint_text);
        let mut signature = Vec::with_capacity(TIMESTAMP_LEN + ED25519_SIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn key_names() {
        assert!(is_valid_key_name("example.com/log"));
        assert!(is_valid_key_name("县委组织部/档案"));
        for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{1}b"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn signature_line_round_trip() {
        let signer = Signer::new("example.com/log", key(1)).unwrap();
        let sig = signer.sign("hello\n");
        let parsed = NoteSignature::parse_line(&sig.to_line()).unwrap();
        assert_eq!(parsed, sig);
        assert!(NoteSignature::parse_line("— name AAAA").is_err());
        assert!(NoteSignature::parse_line("- name AAAAAAA=").is_err());
        assert!(NoteSignature::parse_line("— name").is_err());
    }

    #[test]
    fn signer_debug_hides_the_key() {
        let signer = Signer::new("example.com/log", key(7)).unwrap();
        let debug = format!("{signer:?}");
        assert!(!debug.contains(&BASE64.encode([7u8; 32])));
        assert!(debug.contains("example.com/log"));
    }

    #[test]
    fn cosigner_key_id_uses_type_4() {
        let cosigner = Cosigner::new("witness.example/w1", key(2)).unwrap();
        let plain = Signer::new("witness.example/w1", key(2)).unwrap();
        assert_ne!(cosigner.key_id(), plain.key_id());
        // base64 of 0x04 ‖ key starts with "B", of 0x01 ‖ key with "A".
        let vkey = cosigner.verifier().to_vkey();
        assert!(vkey.splitn(3, '+').nth(2).unwrap().starts_with('B'));
        let round = Verifier::from_vkey(&vkey).unwrap();
        assert_eq!(round.key_type(), KeyType::CosignatureV1);
        assert_eq!(round, cosigner.verifier());
    }
}
