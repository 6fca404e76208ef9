//! The crate's one error type; every fallible function here returns [`Result`].

/// A boxed error from a [`crate::tree::HashStore`] implementation.
pub type StoreError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A tree size larger than what the store holds.
    #[error("tree size {requested} exceeds the stored tree size {stored}")]
    SizeBeyondStore { requested: u64, stored: u64 },
    /// A consistency proof asked from a larger to a smaller tree.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesReversed { old: u64, new: u64 },
    /// A complete node the store should hold is absent.
    #[error("node at level {level}, index {index} is missing from the store")]
    MissingNode { level: u8, index: u64 },
    /// The store itself failed.
    #[error("hash store failed")]
    Store(#[source] StoreError),

    /// An inclusion or consistency proof does not verify.
    #[error("proof does not verify: {0}")]
    ProofInvalid(&'static str),

    /// Text that is not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// A note text that is not a well-formed checkpoint body.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name that is empty or contains a space or a plus.
    #[error("invalid key name {0:?}: must be non-empty, with no spaces and no '+'")]
    InvalidKeyName(String),
    /// A verifier or signer key string that does not parse.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key of a signature type this crate does not implement.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// A key whose stated key ID does not match its name and public key.
    #[error("key ID does not match the key name and public key")]
    KeyIdMismatch,
    /// Two verifiers with the same name and key ID were supplied.
    #[error("ambiguous key {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    /// A signature by a known key that does not verify.
    #[error("invalid signature by {name}+{key_id:08x}")]
    InvalidSignature { name: String, key_id: u32 },
    /// A note with no signature by any of the given keys.
    #[error("note has no signature by a known key")]
    NoKnownSignature,

    /// A path that is not a tlog-tiles tile or entry bundle path.
    #[error("malformed tile path: {0}")]
    MalformedTilePath(&'static str),
    /// A tile that does not exist at the given tree size or is malformed.
    #[error("invalid tile: {0}")]
    InvalidTile(&'static str),
    /// An entry too long for an entry bundle's 16-bit length prefix.
    #[error("entry of {0} bytes exceeds the 65535-byte entry bundle limit")]
    EntryTooLarge(usize),
    /// An entry bundle that does not decode.
    #[error("malformed entry bundle: {0}")]
    MalformedEntryBundle(&'static str),

    /// An archive leaf that violates its encoding rules.
    #[error("malformed archive leaf: {0}")]
    MalformedLeaf(&'static str),
    /// An archive leaf of a version this crate does not know.
    #[error("unsupported archive leaf version {0}")]
    UnsupportedLeafVersion(u8),
}
