//! Tamper-evident, append-only archive log (RFC 9162 hashing); usable without the rest of dangjian.
//!
//! No database, no async, no global state: storage of node hashes is behind
//! [`tree::HashStore`], and everything else is pure.
//!
//! - [`hash`]: leaf and node hashing.
//! - [`tree`]: complete-subtree storage, roots, proofs and appends.
//! - [`verify`]: independent proof verifiers.
//! - [`note`]: C2SP signed notes, Ed25519 keys and witness cosignatures.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies.
//! - [`tiles`]: C2SP tlog-tiles paths, tiles and entry bundles.
//! - [`leaf`]: the canonical leaf encoding of archive events.
//! - [`witness`]: the C2SP tlog-witness `add-checkpoint` exchange, both sides.

pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod leaf;
pub mod note;
pub mod tiles;
pub mod tree;
pub mod verify;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use leaf::ArchiveLeaf;
pub use note::{Cosigner, Note, NoteSignature, Signer, Verifier};
pub use tree::{Frontier, HashStore, MemoryStore, NodeId, StoredNode};
pub use verify::{verify_consistency, verify_inclusion};
