//! Field encryption at rest (AES-256-GCM) and keyed blind indexes (HMAC-SHA-256).
//!
//! A ciphertext is `v1 ‖ key-id length ‖ key id ‖ 12-byte nonce ‖ AEAD output`;
//! the associated data names the column, so a value cannot be moved to
//! another column unnoticed. The key id is stored with every value so keys
//! can be rotated. Blind indexes use their own key, separate from the
//! encryption keys, and never rotate with them.

use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;

/// Errors of key handling and field decryption.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("no key with id {0:?} in the keyring")]
    UnknownKey(String),
    #[error("decryption failed: wrong key or tampered value")]
    Decrypt,
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// The keys a server holds, loaded from its key file or the environment.
pub struct Keyring {
    active: String,
    enc: BTreeMap<String, Zeroizing<[u8; 32]>>,
    bidx: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("key_ids", &self.enc.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    active: String,
    keys: BTreeMap<String, String>,
    blind_index: String,
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

impl Keyring {
    /// A fresh keyring with one encryption key and one blind-index key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut enc = BTreeMap::new();
        let id = format!("k{}", hex::encode(random_bytes::<4>()?));
        enc.insert(id.clone(), Zeroizing::new(random_bytes::<32>()?));
        Ok(Self {
            active: id,
            enc,
            bidx: Zeroizing::new(random_bytes::<32>()?),
        })
    }

    /// Parses the JSON key file format.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, CryptoError> {
        let bad = |reason: String| CryptoError::KeyFile {
            path: origin.to_string(),
            reason,
        };
        let f: KeyFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let decode = |s: &str, what: &str| -> Result<Zeroizing<[u8; 32]>, CryptoError> {
            let v = Zeroizing::new(B64.decode(s).map_err(|e| bad(format!("{what}: {e}")))?);
            let arr: [u8; 32] = v
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("{what}: key must be 32 bytes")))?;
            Ok(Zeroizing::new(arr))
        };
        let mut enc = BTreeMap::new();
        for (id, k) in &f.keys {
            enc.insert(id.clone(), decode(k, id)?);
        }
        if !enc.contains_key(&f.active) {
            return Err(bad(format!("active key {:?} is not in keys", f.active)));
        }
        Ok(Self {
            active: f.active,
            enc,
            bidx: decode(&f.blind_index, "blind_index")?,
        })
    }

    /// The JSON key file format (contains secrets).
    pub fn to_json(&self) -> String {
        let f = KeyFile {
            active: self.active.clone(),
            keys: self
                .enc
                .iter()
                .map(|(id, k)| (id.clone(), B64.encode(k.as_slice())))
                .collect(),
            blind_index: B64.encode(self.bidx.as_slice()),
        };
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }

    /// Loads the key file at `path`, creating it (readable by its owner only)
    /// when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let origin = path.display().to_string();
        let io = |e: std::io::Error| CryptoError::KeyFile {
            path: origin.clone(),
            reason: e.to_string(),
        };
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(io)?;
            return Self::from_json(&text, &origin);
        }
        let ring = Self::generate()?;
        write_private(path, ring.to_json().as_bytes()).map_err(io)?;
        Ok(ring)
    }

    /// Id of the key new values are encrypted with.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Encrypts `plain` for the column named by `aad` (e.g. `members.id_number`).
    pub fn encrypt(&self, plain: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .enc
            .get(&self.active)
            .ok_or_else(|| CryptoError::UnknownKey(self.active.clone()))?;
        let cipher =
            Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Malformed)?;
        // Nonces from the thread-local CSPRNG (ChaCha, seeded and reseeded from
        // the OS): one syscall per value would dominate bulk imports.
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + 12 + ct.len());
        out.push(FORMAT_V1);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a value written by [`Keyring::encrypt`] for the same column.
    pub fn decrypt(&self, blob: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        let (&ver, rest) = blob.split_first().ok_or(CryptoError::Malformed)?;
        if ver != FORMAT_V1 {
            return Err(CryptoError::Malformed);
        }
        let (&idlen, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
        let idlen = idlen as usize;
        if rest.len() < idlen + 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let id = std::str::from_utf8(&rest[..idlen]).map_err(|_| CryptoError::Malformed)?;
        let key = self
            .enc
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let nonce = &rest[idlen..idlen + 12];
        let ct = &rest[idlen + 12..];
        let cipher =
            Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Malformed)?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts to a string.
    pub fn decrypt_str(&self, blob: &[u8], aad: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(blob, aad)?).map_err(|_| CryptoError::Malformed)
    }

    /// Keyed blind index of a value for exact lookup: HMAC-SHA-256 over
    /// `domain ‖ 0x00 ‖ value`, hex. `domain` separates e.g. ID numbers from phones.
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        // HMAC accepts keys of any length; this cannot fail for a 32-byte key.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.bidx.as_slice()) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Writes a file readable and writable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_column_binding() {
        let k = Keyring::generate().unwrap();
        let ct = k
            .encrypt(b"11010519491231002X", "members.id_number")
            .unwrap();
        assert_eq!(
            k.decrypt_str(&ct, "members.id_number").unwrap(),
            "11010519491231002X"
        );
        assert!(k.decrypt(&ct, "members.phone").is_err());
        let mut bad = ct.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.decrypt(&bad, "members.id_number").is_err());
        assert!(!ct.windows(6).any(|w| w == b"110105"));
    }

    #[test]
    fn blind_index_is_keyed_and_deterministic() {
        let a = Keyring::generate().unwrap();
        let b = Keyring::generate().unwrap();
        assert_eq!(a.blind_index("id", "x"), a.blind_index("id", "x"));
        assert_ne!(a.blind_index("id", "x"), b.blind_index("id", "x"));
        assert_ne!(a.blind_index("id", "x"), a.blind_index("phone", "x"));
    }

    #[test]
    fn key_file_round_trip_and_permissions() {
        let dir = std::env::temp_dir().join(format!(
            "dj-keys-{}",
            hex::encode(random_bytes::<6>().unwrap())
        ));
        let path = dir.join("keys.json");
        let k1 = Keyring::load_or_create(&path).unwrap();
        let k2 = Keyring::load_or_create(&path).unwrap();
        let ct = k1.encrypt(b"x", "t").unwrap();
        assert_eq!(k2.decrypt(&ct, "t").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
