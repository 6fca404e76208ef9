//! Field encryption at rest and keyed blind indexes, in one of two suites
//! chosen per deployment (issue 5, item 5): the international suite
//! (AES-256-GCM, HMAC-SHA-256), the default, or the national suite of the
//! commercial cryptography evaluation (密评: SM4-GCM, HMAC-SM3), all from
//! RustCrypto's crates.
//!
//! A ciphertext is `v1 ‖ key-id length ‖ key id ‖ 12-byte nonce ‖ AEAD output`;
//! the associated data names the column, so a value cannot be moved to
//! another column unnoticed. The key id is stored with every value so keys
//! can be rotated. Blind indexes use their own key, separate from the
//! encryption keys, and never rotate with them.
//!
//! Rotation (`dangjian keys rotate`, issue 5 item 5): [`Keyring::add_active_key`]
//! and [`Keyring::retire_inactive`] change the field keys in memory,
//! [`Keyring::save`] writes the key file atomically; a keyring loaded from a
//! file rereads it when it meets an unknown key id and when
//! [`Keyring::reload_if_changed`] sees a new file, so a running server learns
//! a key the CLI added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;

/// SM4 in Galois/Counter Mode with 96-bit nonces (GB/T 32907, RFC 8998).
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// The algorithms of a deployment (its key file's `suite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// AES-256-GCM for fields, HMAC-SHA-256 for blind indexes.
    International,
    /// SM4-GCM for fields, HMAC-SM3 for blind indexes (国密).
    National,
}

impl Suite {
    /// `international` (or `intl`) and `national` (or `sm`, `guomi`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "international" | "intl" => Some(Suite::International),
            "national" | "sm" | "guomi" => Some(Suite::National),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::International => "international",
            Suite::National => "national",
        }
    }
    fn field_algorithm(self) -> Alg {
        match self {
            Suite::International => Alg::Aes256Gcm,
            Suite::National => Alg::Sm4Gcm,
        }
    }
}

/// The AEAD of one field key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Aes256Gcm,
    Sm4Gcm,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Aes256Gcm => "aes-256-gcm",
            Alg::Sm4Gcm => "sm4-gcm",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "aes-256-gcm" => Some(Alg::Aes256Gcm),
            "sm4-gcm" => Some(Alg::Sm4Gcm),
            _ => None,
        }
    }
    fn key_len(self) -> usize {
        match self {
            Alg::Aes256Gcm => 32,
            Alg::Sm4Gcm => 16,
        }
    }
}

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
    suite: Suite,
    /// The field keys; replaced whole by a reload of the key file.
    fields: RwLock<FieldKeys>,
    bidx: Zeroizing<[u8; 32]>,
    /// The key file this keyring was loaded from, for reloads.
    source: Option<Source>,
}

/// The data-encryption keys and which one encrypts new values.
struct FieldKeys {
    active: String,
    enc: BTreeMap<String, (Alg, Zeroizing<Vec<u8>>)>,
}

struct Source {
    path: PathBuf,
    /// What the file looked like when last read or written.
    stamp: Mutex<Option<FileStamp>>,
}

/// Modification time, length and inode of a key file: a rename-replaced
/// file has a new inode even within one clock tick.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp(Option<std::time::SystemTime>, u64, u64);

fn stamp_of(path: &Path) -> Option<FileStamp> {
    let md = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&md);
    #[cfg(not(unix))]
    let ino = 0;
    Some(FileStamp(md.modified().ok(), md.len(), ino))
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields = self.fields();
        f.debug_struct("Keyring")
            .field("suite", &self.suite)
            .field("active", &fields.active)
            .field("key_ids", &fields.enc.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// `international` when absent (key files written before the suites).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suite: Option<String>,
    active: String,
    keys: BTreeMap<String, String>,
    /// Key id → AEAD; a key without an entry is AES-256-GCM.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    algorithms: BTreeMap<String, String>,
    blind_index: String,
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

impl Keyring {
    /// A fresh keyring of the international suite.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::generate_with(Suite::International)
    }

    /// A fresh keyring with one field key and one blind-index key of `suite`.
    pub fn generate_with(suite: Suite) -> Result<Self, CryptoError> {
        let alg = suite.field_algorithm();
        let mut enc = BTreeMap::new();
        let id = format!("k{}", hex::encode(random_bytes::<4>()?));
        let key = Zeroizing::new(random_bytes::<32>()?[..alg.key_len()].to_vec());
        enc.insert(id.clone(), (alg, key));
        Ok(Self {
            suite,
            fields: RwLock::new(FieldKeys { active: id, enc }),
            bidx: Zeroizing::new(random_bytes::<32>()?),
            source: None,
        })
    }

    /// Parses the JSON key file format.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, CryptoError> {
        let bad = |reason: String| CryptoError::KeyFile {
            path: origin.to_string(),
            reason,
        };
        let f: KeyFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let suite = match f.suite.as_deref() {
            None => Suite::International,
            Some(s) => Suite::parse(s).ok_or_else(|| {
                bad(format!(
                    "suite {s:?} is neither \"international\" nor \"national\""
                ))
            })?,
        };
        let decode = |s: &str, what: &str, len: usize| -> Result<Zeroizing<Vec<u8>>, CryptoError> {
            let v = Zeroizing::new(B64.decode(s).map_err(|e| bad(format!("{what}: {e}")))?);
            if v.len() != len {
                return Err(bad(format!("{what}: key must be {len} bytes")));
            }
            Ok(v)
        };
        let mut enc = BTreeMap::new();
        for (id, k) in &f.keys {
            let alg = match f.algorithms.get(id) {
                None => Alg::Aes256Gcm,
                Some(a) => {
                    Alg::parse(a).ok_or_else(|| bad(format!("{id}: unknown algorithm {a:?}")))?
                }
            };
            enc.insert(id.clone(), (alg, decode(k, id, alg.key_len())?));
        }
        if !enc.contains_key(&f.active) {
            return Err(bad(format!("active key {:?} is not in keys", f.active)));
        }
        let b = decode(&f.blind_index, "blind_index", 32)?;
        let mut bidx = Zeroizing::new([0u8; 32]);
        bidx.copy_from_slice(&b);
        Ok(Self {
            suite,
            fields: RwLock::new(FieldKeys {
                active: f.active,
                enc,
            }),
            bidx,
            source: None,
        })
    }

    /// The JSON key file format (contains secrets).
    pub fn to_json(&self) -> String {
        let fields = self.fields();
        let f = KeyFile {
            suite: (self.suite != Suite::International).then(|| self.suite.as_str().to_string()),
            active: fields.active.clone(),
            keys: fields
                .enc
                .iter()
                .map(|(id, (_, k))| (id.clone(), B64.encode(k.as_slice())))
                .collect(),
            algorithms: fields
                .enc
                .iter()
                .filter(|(_, (alg, _))| *alg != Alg::Aes256Gcm)
                .map(|(id, (alg, _))| (id.clone(), alg.name().to_string()))
                .collect(),
            blind_index: B64.encode(self.bidx.as_slice()),
        };
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }

    /// Loads the key file at `path`, creating it (readable by its owner only,
    /// international suite) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        Self::load_or_create_with(path, None)
    }

    /// Like [`Keyring::load_or_create`]; a new key file gets `suite`, and an
    /// existing one must be of `suite` when one is asked for (a deployment
    /// keeps the suite its keys were made with).
    pub fn load_or_create_with(path: &Path, suite: Option<Suite>) -> Result<Self, CryptoError> {
        let ring = Self::load_or_create_inner(path, suite.unwrap_or(Suite::International))?;
        match suite {
            Some(want) if want != ring.suite => Err(CryptoError::KeyFile {
                path: path.display().to_string(),
                reason: format!(
                    "the keys are of the {} suite, the settings ask for {}; a deployment keeps \
                     the suite it was set up with",
                    ring.suite.as_str(),
                    want.as_str()
                ),
            }),
            _ => Ok(ring),
        }
    }

    fn load_or_create_inner(path: &Path, suite: Suite) -> Result<Self, CryptoError> {
        let origin = path.display().to_string();
        let io = |e: std::io::Error| CryptoError::KeyFile {
            path: origin.clone(),
            reason: e.to_string(),
        };
        // Stamped before the read: a change racing with it is seen later.
        let mut stamp = stamp_of(path);
        let mut ring = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(io)?;
            Self::from_json(&text, &origin)?
        } else {
            let ring = Self::generate_with(suite)?;
            write_private(path, ring.to_json().as_bytes()).map_err(io)?;
            stamp = stamp_of(path);
            ring
        };
        ring.source = Some(Source {
            path: path.to_path_buf(),
            stamp: Mutex::new(stamp),
        });
        Ok(ring)
    }

    fn fields(&self) -> RwLockReadGuard<'_, FieldKeys> {
        // A panic while holding the lock cannot leave the map half-written
        // (it is replaced or changed by single inserts/removals).
        self.fields.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The suite of this deployment's keys.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Id of the key new values are encrypted with.
    pub fn active_key_id(&self) -> String {
        self.fields().active.clone()
    }

    /// Ids of every field key held (the active one and those kept for
    /// decryption), sorted.
    pub fn key_ids(&self) -> Vec<String> {
        self.fields().enc.keys().cloned().collect()
    }

    /// The key file this keyring was loaded from, if any.
    pub fn key_file(&self) -> Option<&Path> {
        self.source.as_ref().map(|s| s.path.as_path())
    }

    /// The id of the key a stored value was encrypted with (`None` when the
    /// value is not in the format of [`Keyring::encrypt`]).
    pub fn key_id_of(blob: &[u8]) -> Option<&str> {
        let (&ver, rest) = blob.split_first()?;
        if ver != FORMAT_V1 {
            return None;
        }
        let (&idlen, rest) = rest.split_first()?;
        let idlen = idlen as usize;
        if rest.len() < idlen + 12 + 16 {
            return None;
        }
        std::str::from_utf8(&rest[..idlen]).ok()
    }

    /// Adds a fresh data-encryption key of the deployment's suite and makes
    /// it the active one (the others are kept for decryption); returns its
    /// id. Only in memory: [`Keyring::save`] writes the key file.
    pub fn add_active_key(&self) -> Result<String, CryptoError> {
        let alg = self.suite.field_algorithm();
        let mut fields = self.fields.write().unwrap_or_else(|e| e.into_inner());
        let id = loop {
            let id = format!("k{}", hex::encode(random_bytes::<4>()?));
            if !fields.enc.contains_key(&id) {
                break id;
            }
        };
        let key = Zeroizing::new(random_bytes::<32>()?[..alg.key_len()].to_vec());
        fields.enc.insert(id.clone(), (alg, key));
        fields.active = id.clone();
        Ok(id)
    }

    /// Removes every key but the active one ("retires" them: values still
    /// encrypted under them can no longer be read); returns the removed ids.
    /// Only in memory: [`Keyring::save`] writes the key file.
    pub fn retire_inactive(&self) -> Vec<String> {
        let mut fields = self.fields.write().unwrap_or_else(|e| e.into_inner());
        let active = fields.active.clone();
        let old: Vec<String> = fields
            .enc
            .keys()
            .filter(|k| **k != active)
            .cloned()
            .collect();
        for k in &old {
            fields.enc.remove(k);
        }
        old
    }

    /// Writes the key file atomically: a temporary file (mode 0600) in the
    /// same directory, flushed, then renamed over `path`, so a reader sees
    /// the old file or the new one, never a part.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        let io = |e: std::io::Error| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "keys.json".into());
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", hex::encode(random_bytes::<6>()?)));
        write_private(&tmp, self.to_json().as_bytes()).map_err(io)?;
        if let Err(e) = std::fs::rename(&tmp, path) {
            std::fs::remove_file(&tmp).ok();
            return Err(io(e));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable.
            if let Ok(d) = std::fs::File::open(dir) {
                d.sync_all().ok();
            }
        }
        if let Some(src) = self.source.as_ref().filter(|s| s.path == path) {
            *src.stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp_of(path);
        }
        Ok(())
    }

    /// Rereads the key file this keyring was loaded from and takes its field
    /// keys (an added active key, retired ones gone). The suite and the
    /// blind-index key must be unchanged. Returns false for a keyring that
    /// was not loaded from a file.
    pub fn reload(&self) -> Result<bool, CryptoError> {
        let Some(src) = &self.source else {
            return Ok(false);
        };
        let origin = src.path.display().to_string();
        let stamp = stamp_of(&src.path);
        let text = std::fs::read_to_string(&src.path).map_err(|e| CryptoError::KeyFile {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
        let new = Self::from_json(&text, &origin)?;
        if new.suite != self.suite || new.bidx.as_slice() != self.bidx.as_slice() {
            return Err(CryptoError::KeyFile {
                path: origin,
                reason: "the suite or the blind-index key changed; only field keys may change \
                         while the server runs"
                    .into(),
            });
        }
        let fields = new.fields.into_inner().unwrap_or_else(|e| e.into_inner());
        *self.fields.write().unwrap_or_else(|e| e.into_inner()) = fields;
        *src.stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
        Ok(true)
    }

    /// Rereads the key file when it changed since it was last read or
    /// written (a server calls this every few seconds); returns whether it
    /// reloaded.
    pub fn reload_if_changed(&self) -> Result<bool, CryptoError> {
        let Some(src) = &self.source else {
            return Ok(false);
        };
        let now = stamp_of(&src.path);
        let changed = now.is_some() && *src.stamp.lock().unwrap_or_else(|e| e.into_inner()) != now;
        if changed { self.reload() } else { Ok(false) }
    }

    /// Encrypts `plain` for the column named by `aad` (e.g. `members.id_number`).
    pub fn encrypt(&self, plain: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        let fields = self.fields();
        let (alg, key) = fields
            .enc
            .get(&fields.active)
            .ok_or_else(|| CryptoError::UnknownKey(fields.active.clone()))?;
        // Nonces from the thread-local CSPRNG (ChaCha, seeded and reseeded from
        // the OS): one syscall per value would dominate bulk imports.
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let payload = Payload {
            msg: plain,
            aad: aad.as_bytes(),
        };
        let n = Nonce::from_slice(&nonce);
        let ct = match alg {
            Alg::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .map_err(|_| CryptoError::Malformed)?
                .encrypt(n, payload),
            Alg::Sm4Gcm => Sm4Gcm::new_from_slice(key)
                .map_err(|_| CryptoError::Malformed)?
                .encrypt(n, payload),
        }
        .map_err(|_| CryptoError::Decrypt)?;
        let id = fields.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + 12 + ct.len());
        out.push(FORMAT_V1);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a value written by [`Keyring::encrypt`] for the same column.
    /// A value under a key this keyring does not hold makes it reread its
    /// key file once (another process may have added the key).
    pub fn decrypt(&self, blob: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        match self.decrypt_held(blob, aad) {
            Err(CryptoError::UnknownKey(id)) => match self.reload() {
                Ok(true) => self.decrypt_held(blob, aad),
                Ok(false) => Err(CryptoError::UnknownKey(id)),
                Err(e) => {
                    tracing::warn!(error = %e, "key file reload failed");
                    Err(CryptoError::UnknownKey(id))
                }
            },
            r => r,
        }
    }

    fn decrypt_held(&self, blob: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
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
        let fields = self.fields();
        let (alg, key) = fields
            .enc
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let nonce = Nonce::from_slice(&rest[idlen..idlen + 12]);
        let payload = Payload {
            msg: &rest[idlen + 12..],
            aad: aad.as_bytes(),
        };
        match alg {
            Alg::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .map_err(|_| CryptoError::Malformed)?
                .decrypt(nonce, payload),
            Alg::Sm4Gcm => Sm4Gcm::new_from_slice(key)
                .map_err(|_| CryptoError::Malformed)?
                .decrypt(nonce, payload),
        }
        .map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts to a string.
    pub fn decrypt_str(&self, blob: &[u8], aad: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(blob, aad)?).map_err(|_| CryptoError::Malformed)
    }

    /// Keyed blind index of a value for exact lookup: HMAC (SHA-256, or SM3
    /// in the national suite) over `domain ‖ 0x00 ‖ value`, hex. `domain`
    /// separates e.g. ID numbers from phones.
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], domain: &str, value: &str) -> String {
            // HMAC accepts keys of any length; this cannot fail for a 32-byte key.
            let mut m = match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(m) => m,
                Err(_) => unreachable!("HMAC takes keys of any length"),
            };
            m.update(domain.as_bytes());
            m.update(&[0]);
            m.update(value.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        match self.suite {
            Suite::International => mac::<Hmac<Sha256>>(self.bidx.as_slice(), domain, value),
            Suite::National => mac::<Hmac<sm3::Sm3>>(self.bidx.as_slice(), domain, value),
        }
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
    fn national_suite_round_trip_and_key_file() {
        let k = Keyring::generate_with(Suite::National).unwrap();
        assert_eq!(k.suite(), Suite::National);
        let ct = k.encrypt(b"13800138000", "members.phone").unwrap();
        assert_eq!(k.decrypt(&ct, "members.phone").unwrap(), b"13800138000");
        assert!(k.decrypt(&ct, "members.id_number").is_err());
        let mut bad = ct.clone();
        bad[ct.len() - 1] ^= 1;
        assert!(k.decrypt(&bad, "members.phone").is_err());
        // The key file keeps suite and algorithm; a reload reads old values.
        let again = Keyring::from_json(&k.to_json(), "mem").unwrap();
        assert_eq!(again.suite(), Suite::National);
        assert_eq!(again.decrypt(&ct, "members.phone").unwrap(), b"13800138000");
        assert_eq!(again.blind_index("id", "x"), k.blind_index("id", "x"));
        assert!(k.to_json().contains("sm4-gcm"));
    }

    /// The national suite really is SM4-GCM and HMAC-SM3: the test vector of
    /// RFC 8998 (appendix A.1) and GB/T 32905's SM3("abc"), and the same
    /// blind-index key gives another index than HMAC-SHA-256.
    #[test]
    fn national_suite_uses_sm4_gcm_and_sm3() {
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let iv = hex::decode("00001234567800000000ABCD").unwrap();
        let pt = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let out = Sm4Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(
            hex::encode_upper(&out),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D\
             83DE3541E4C2B58177E065A9BF7B62EC"
        );
        use sm3::Digest;
        assert_eq!(
            hex::encode(sm3::Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        let intl = Keyring::generate().unwrap();
        let mut nat = Keyring::from_json(&intl.to_json(), "mem").unwrap();
        nat.suite = Suite::National;
        assert_ne!(intl.blind_index("id", "x"), nat.blind_index("id", "x"));
    }

    #[test]
    fn a_deployment_keeps_its_suite() {
        let dir = std::env::temp_dir().join(format!(
            "dj-suite-{}",
            hex::encode(random_bytes::<6>().unwrap())
        ));
        let path = dir.join("keys.json");
        let k = Keyring::load_or_create_with(&path, Some(Suite::National)).unwrap();
        assert_eq!(k.suite(), Suite::National);
        assert_eq!(
            Keyring::load_or_create(&path).unwrap().suite(),
            Suite::National
        );
        let e = Keyring::load_or_create_with(&path, Some(Suite::International)).unwrap_err();
        assert!(e.to_string().contains("national suite"), "{e}");
        std::fs::remove_dir_all(dir).ok();
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

    fn temp_key_file(tag: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "dj-{tag}-{}",
            hex::encode(random_bytes::<6>().unwrap())
        ));
        let path = dir.join("keys.json");
        (dir, path)
    }

    /// Rotation in one keyring, both suites: the new key encrypts, the old
    /// one still decrypts until it is retired, the blind index is unchanged.
    #[test]
    fn rotate_then_retire_in_memory() {
        for suite in [Suite::International, Suite::National] {
            let k = Keyring::generate_with(suite).unwrap();
            let old = k.active_key_id();
            let bidx = k.blind_index("id", "x");
            let before = k.encrypt(b"13800138000", "members.phone").unwrap();
            assert_eq!(Keyring::key_id_of(&before), Some(old.as_str()));
            let new = k.add_active_key().unwrap();
            assert_ne!(new, old);
            assert_eq!(k.active_key_id(), new);
            assert_eq!(k.key_ids().len(), 2);
            let after = k.encrypt(b"13800138000", "members.phone").unwrap();
            assert_eq!(Keyring::key_id_of(&after), Some(new.as_str()));
            assert_eq!(k.decrypt(&before, "members.phone").unwrap(), b"13800138000");
            assert_eq!(k.decrypt(&after, "members.phone").unwrap(), b"13800138000");
            assert_eq!(k.blind_index("id", "x"), bidx);
            assert_eq!(k.retire_inactive(), vec![old.clone()]);
            assert_eq!(k.key_ids(), vec![new.clone()]);
            assert!(matches!(
                k.decrypt(&before, "members.phone"),
                Err(CryptoError::UnknownKey(id)) if id == old
            ));
            assert_eq!(k.decrypt(&after, "members.phone").unwrap(), b"13800138000");
            if suite == Suite::National {
                assert!(k.to_json().contains("sm4-gcm"));
                assert!(!k.to_json().contains("aes-256-gcm"));
            }
        }
    }

    #[test]
    fn key_id_of_rejects_foreign_bytes() {
        assert_eq!(Keyring::key_id_of(b""), None);
        assert_eq!(
            Keyring::key_id_of(b"plain text that is long enough...."),
            None
        );
    }

    /// A server's keyring learns a key another process added to the file:
    /// on meeting its id, and on a changed file (then it also encrypts with
    /// it), and forgets a retired key the same way.
    #[test]
    fn a_second_keyring_on_the_file_follows_rotation() {
        for suite in [Suite::International, Suite::National] {
            let (dir, path) = temp_key_file("reload");
            let server = Keyring::load_or_create_with(&path, Some(suite)).unwrap();
            let cli = Keyring::load_or_create(&path).unwrap();
            assert!(!server.reload_if_changed().unwrap());
            let old = server.active_key_id();
            let old_ct = server.encrypt(b"a", "t").unwrap();
            let new = cli.add_active_key().unwrap();
            cli.save(&path).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            // No temporary file left behind.
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
            // Unknown key id → reread → decrypts.
            let new_ct = cli.encrypt(b"b", "t").unwrap();
            assert_eq!(server.decrypt(&new_ct, "t").unwrap(), b"b");
            assert_eq!(server.active_key_id(), new);
            // Retire: the file changed, the poll sees it.
            assert_eq!(cli.retire_inactive(), vec![old.clone()]);
            cli.save(&path).unwrap();
            assert!(server.reload_if_changed().unwrap());
            assert!(!server.reload_if_changed().unwrap());
            assert!(server.decrypt(&old_ct, "t").is_err());
            assert_eq!(server.key_ids(), vec![new.clone()]);
            let again = Keyring::load_or_create(&path).unwrap();
            assert_eq!(again.suite(), suite);
            assert_eq!(again.key_ids(), vec![new]);
            std::fs::remove_dir_all(dir).ok();
        }
    }

    /// A reload never takes another blind-index key: searches and the
    /// ledger's commitments depend on it.
    #[test]
    fn reload_refuses_a_changed_blind_index_key() {
        let (dir, path) = temp_key_file("bidx");
        let server = Keyring::load_or_create(&path).unwrap();
        let other = Keyring::generate().unwrap();
        std::fs::remove_file(&path).unwrap();
        other.save(&path).unwrap();
        let e = server.reload().unwrap_err();
        assert!(e.to_string().contains("blind-index"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
