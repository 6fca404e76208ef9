//! The registry of process definitions: every version a deployment knows,
//! by key and version. New runs start on a process's latest version; a run
//! keeps the version it started on, so an older version stays registered
//! as long as runs may use it.
//!
//! Each definition has a digest — SHA-256 over its JSON — that the caller
//! stores beside it. A stored digest that differs from the digest of the
//! same key and version in the registry means the definition was edited
//! without a version bump: runs already recorded against that version
//! would be read against different steps. [`Registry::check_stored`] names
//! such a definition so the application can refuse to start.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::definition::ProcessDef;

/// Why a definition could not be registered or found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("no process definition {0:?}")]
    UnknownProcess(String),
    #[error("process definition {key} has no version {version} (known: {known:?})")]
    UnknownVersion {
        key: String,
        version: u32,
        known: Vec<u32>,
    },
    #[error("process definition {key} v{version} is registered twice")]
    Duplicate { key: String, version: u32 },
    #[error("process definition {key} v{version} is not well formed: {problems:?}")]
    Malformed {
        key: String,
        version: u32,
        problems: Vec<String>,
    },
    #[error("definition {key} v{version} changed without a version bump")]
    Changed { key: String, version: u32 },
}

/// The canonical JSON of a definition: what is stored and digested.
pub fn canonical_json(def: &ProcessDef) -> String {
    // Struct fields serialize in declaration order and every collection
    // of a definition is a Vec, so the text is stable for equal values.
    serde_json::to_string(def).unwrap_or_default()
}

/// SHA-256 of [`canonical_json`], lower-case hex.
pub fn digest(def: &ProcessDef) -> String {
    hex::encode(Sha256::digest(canonical_json(def).as_bytes()))
}

/// A definition as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDef {
    pub key: String,
    pub version: u32,
    pub digest: String,
}

/// Definitions by key and version.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    defs: BTreeMap<(String, u32), ProcessDef>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a definition; refused when malformed or already registered.
    pub fn register(&mut self, def: ProcessDef) -> Result<(), RegistryError> {
        let problems = def.check();
        if !problems.is_empty() {
            return Err(RegistryError::Malformed {
                key: def.key,
                version: def.version,
                problems,
            });
        }
        let k = (def.key.clone(), def.version);
        if self.defs.contains_key(&k) {
            return Err(RegistryError::Duplicate {
                key: k.0,
                version: k.1,
            });
        }
        self.defs.insert(k, def);
        Ok(())
    }

    /// The definition `key` at `version`: what an existing run acts on.
    pub fn get(&self, key: &str, version: u32) -> Result<&ProcessDef, RegistryError> {
        if let Some(d) = self.defs.get(&(key.to_string(), version)) {
            return Ok(d);
        }
        let known = self.versions(key);
        if known.is_empty() {
            Err(RegistryError::UnknownProcess(key.to_string()))
        } else {
            Err(RegistryError::UnknownVersion {
                key: key.to_string(),
                version,
                known,
            })
        }
    }

    /// The latest version of `key`: what a new run starts on.
    pub fn latest(&self, key: &str) -> Result<&ProcessDef, RegistryError> {
        self.defs
            .range((key.to_string(), 0)..=(key.to_string(), u32::MAX))
            .next_back()
            .map(|(_, d)| d)
            .ok_or_else(|| RegistryError::UnknownProcess(key.to_string()))
    }

    /// The registered versions of `key`, ascending.
    pub fn versions(&self, key: &str) -> Vec<u32> {
        self.defs
            .range((key.to_string(), 0)..=(key.to_string(), u32::MAX))
            .map(|((_, v), _)| *v)
            .collect()
    }

    /// Every definition, by key then version.
    pub fn all(&self) -> impl Iterator<Item = &ProcessDef> {
        self.defs.values()
    }

    /// Compares the registry with what a store holds: the first stored
    /// definition whose digest differs from the registered one of the
    /// same key and version is an error. Stored definitions the registry
    /// does not know are left alone (see [`Registry::missing`]).
    pub fn check_stored(&self, stored: &[StoredDef]) -> Result<(), RegistryError> {
        for s in stored {
            if let Some(d) = self.defs.get(&(s.key.clone(), s.version))
                && digest(d) != s.digest
            {
                return Err(RegistryError::Changed {
                    key: s.key.clone(),
                    version: s.version,
                });
            }
        }
        Ok(())
    }

    /// The registered definitions the store does not hold yet.
    pub fn missing<'a>(&'a self, stored: &'a [StoredDef]) -> impl Iterator<Item = &'a ProcessDef> {
        self.defs.values().filter(move |d| {
            !stored
                .iter()
                .any(|s| s.key == d.key && s.version == d.version)
        })
    }
}
