//! The C2SP tlog-witness `add-checkpoint` exchange (c2sp.org/tlog-witness),
//! both sides, without I/O: the request body a log sends, the checks a
//! witness makes before cosigning, and the refusals with the HTTP status the
//! protocol gives each.
//!
//! A request body is `old <size>\n`, the consistency proof from that size to
//! the checkpoint's size as base64 lines, an empty line, then the signed
//! checkpoint. The witness cosigns only if the checkpoint is signed by the
//! log's key, `old` equals the size it last cosigned for that log, and the
//! proof shows the new tree extends that one — so a log that forks or
//! rewrites its history is refused, and keeps being refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::note::{Cosigner, Note, NoteSignature, Verifier};
use crate::verify::verify_consistency;

/// Most proof lines a request may carry (a proof in a tree of 2^63 leaves
/// has fewer).
pub const MAX_PROOF_LINES: usize = 63;

/// The body of an `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the last checkpoint the witness cosigned for this log,
    /// as the log believes it (0 for the first request).
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&BASE64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a request body; the error says what is wrong (HTTP 400).
    pub fn parse(body: &str) -> Result<Self, Refusal> {
        let bad = |m: &str| Refusal::Malformed(m.to_string());
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        if old.is_empty() || (old.len() > 1 && old.starts_with('0')) {
            return Err(bad("old size is not a decimal number"));
        }
        let old_size: u64 = old
            .parse()
            .map_err(|_| bad("old size is not a decimal number"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("too many proof lines"));
            }
            let h: Hash = BASE64
                .decode(l)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("a proof line is not the base64 of 32 bytes"))?;
            proof.push(h);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }
}

/// What the witness last cosigned for a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Witnessed {
    pub size: u64,
    pub root: Hash,
}

/// Why a witness refuses to cosign, with the protocol's status for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body does not parse, or `old` exceeds the checkpoint size.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: the checkpoint's origin is not a log this witness knows.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 403: the checkpoint is not signed by the log's key.
    #[error("the checkpoint is not signed by the log's key")]
    BadSignature,
    /// 409: `old` is not the size the witness last cosigned (`latest`), or
    /// the same size came with another root hash.
    #[error("the witness last cosigned size {latest}")]
    Conflict { latest: u64 },
    /// 422: the proof does not show the new tree extends the cosigned one.
    #[error("the consistency proof does not verify")]
    Inconsistent,
}

impl Refusal {
    /// The HTTP status of this refusal in the protocol.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::BadSignature => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent => 422,
        }
    }
}

/// The origin line of a signed checkpoint, read before any key is chosen.
pub fn origin_of(checkpoint: &str) -> Result<String, Refusal> {
    let note =
        Note::parse(checkpoint).map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
    let cp = Checkpoint::parse(note.text())
        .map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
    Ok(cp.origin().to_string())
}

/// The witness's checks on a request for the log `log` (its verifier key),
/// given what it last cosigned for it (`None`: never). Returns the
/// checkpoint to cosign and record.
pub fn check(
    req: &AddCheckpoint,
    log: &Verifier,
    last: Option<&Witnessed>,
) -> Result<Checkpoint, Refusal> {
    let (cp, _, _) = Checkpoint::open(&req.checkpoint, log).map_err(|e| match e {
        crate::Error::MalformedNote(_) | crate::Error::MalformedCheckpoint(_) => {
            Refusal::Malformed(format!("checkpoint: {e}"))
        }
        _ => Refusal::BadSignature,
    })?;
    if cp.origin() != log.name() {
        return Err(Refusal::UnknownLog(cp.origin().to_string()));
    }
    if req.old_size > cp.size() {
        return Err(Refusal::Malformed(
            "old size is larger than the checkpoint size".into(),
        ));
    }
    let latest = last.map_or(0, |w| w.size);
    if req.old_size != latest {
        return Err(Refusal::Conflict { latest });
    }
    match last {
        None => {
            if !req.proof.is_empty() {
                return Err(Refusal::Inconsistent);
            }
        }
        Some(w) if w.size == cp.size() => {
            // The same size again: only the same tree may be cosigned.
            if &w.root != cp.root() || !req.proof.is_empty() {
                return Err(Refusal::Conflict { latest });
            }
        }
        Some(w) => {
            verify_consistency(w.size, cp.size(), &w.root, cp.root(), &req.proof)
                .map_err(|_| Refusal::Inconsistent)?;
        }
    }
    Ok(cp)
}

/// The witness's answer to an accepted request: its cosignature line(s).
pub fn cosign_response(
    cosigner: &Cosigner,
    cp: &Checkpoint,
    timestamp: u64,
) -> crate::Result<String> {
    let sig = cosigner.cosign(&cp.to_string(), timestamp)?;
    Ok(format!("{}\n", sig.to_line()))
}

/// The log's side: checks the witness's answer against the witness's
/// verifier key and returns the checkpoint note with the cosignature added.
pub fn attach_cosignature(
    checkpoint: &str,
    response: &str,
    witness: &Verifier,
) -> crate::Result<String> {
    let mut note = Note::parse(checkpoint)?;
    let mut added = false;
    for line in response.lines().filter(|l| !l.trim().is_empty()) {
        let sig = NoteSignature::parse_line(line)?;
        if sig.name() == witness.name() && sig.key_id() == witness.key_id() {
            note.add_signature(sig)?;
            added = true;
        }
    }
    if !added {
        return Err(crate::Error::MalformedNote(
            "the response holds no cosignature by the witness's key",
        ));
    }
    // Verifies the added cosignature over the checkpoint text.
    note.verify(witness)?;
    Ok(note.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;
    use crate::tree::{MemoryStore, consistency_plan};
    use crate::{leaf_hash, tree};
    use ed25519_dalek::SigningKey;

    struct Log {
        store: MemoryStore,
        signer: Signer,
    }

    impl Log {
        fn new(seed: u8) -> Self {
            Self {
                store: MemoryStore::default(),
                signer: Signer::new("dangjian/X01", SigningKey::from_bytes(&[seed; 32])).unwrap(),
            }
        }
        fn grow(&mut self, n: u64, salt: u8) {
            for i in 0..n {
                self.store.push(leaf_hash(&[salt, i as u8]));
            }
        }
        fn size(&self) -> u64 {
            tree::Frontier::load(&self.store).unwrap().size()
        }
        fn checkpoint(&self) -> String {
            let f = tree::Frontier::load(&self.store).unwrap();
            Checkpoint::new(self.signer.name(), f.size(), f.root())
                .unwrap()
                .sign(&self.signer)
                .to_string()
        }
        fn request(&self, old: u64) -> AddCheckpoint {
            let size = self.size();
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                consistency_plan(old, size)
                    .unwrap()
                    .fetch(&self.store)
                    .unwrap()
            };
            AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: self.checkpoint(),
            }
        }
    }

    fn witnessed(cp: &Checkpoint) -> Witnessed {
        Witnessed {
            size: cp.size(),
            root: *cp.root(),
        }
    }

    #[test]
    fn body_round_trips_and_bad_bodies_are_400() {
        let mut log = Log::new(1);
        log.grow(5, 0);
        let first = log.request(0);
        log.grow(4, 1);
        let req = log.request(5);
        assert!(!req.proof.is_empty());
        for r in [first, req] {
            assert_eq!(AddCheckpoint::parse(&r.encode()).unwrap(), r);
        }
        for bad in [
            "",
            "old 1\n",
            "new 1\n\nx\n",
            "old -1\n\nx\n",
            "old 01\n\nx\n",
            "old 1\nnot-base64\n\nx\n",
            "old 1\nAAAA\n\nx\n",
        ] {
            let e = AddCheckpoint::parse(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad:?}");
        }
        let many = format!(
            "old 1\n{}\nx\n",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
        );
        assert_eq!(AddCheckpoint::parse(&many).unwrap_err().status(), 400);
    }

    #[test]
    fn a_growing_log_is_cosigned_each_time() {
        let mut log = Log::new(1);
        let v = log.signer.verifier();
        log.grow(3, 0);
        let cp = check(&log.request(0), &v, None).unwrap();
        assert_eq!(cp.size(), 3);
        let mut last = witnessed(&cp);
        for step in 1..6u8 {
            log.grow(u64::from(step) * 7, step);
            let cp = check(&log.request(last.size), &v, Some(&last)).unwrap();
            last = witnessed(&cp);
        }
        // The same checkpoint again is fine (idempotent retry).
        assert!(check(&log.request(last.size), &v, Some(&last)).is_ok());
    }

    #[test]
    fn a_forked_log_is_refused() {
        let mut log = Log::new(1);
        let v = log.signer.verifier();
        log.grow(8, 0);
        let last = witnessed(&check(&log.request(0), &v, None).unwrap());
        // A second log with the same key whose history differs at leaf 3.
        let mut fork = Log::new(1);
        fork.grow(3, 0);
        fork.grow(9, 9);
        assert_eq!(
            check(&fork.request(8), &v, Some(&last)).unwrap_err(),
            Refusal::Inconsistent
        );
        // The fork at the same size: another root for a cosigned size.
        let mut same = Log::new(1);
        same.grow(3, 0);
        same.grow(5, 9);
        assert_eq!(
            check(&same.request(8), &v, Some(&last)).unwrap_err(),
            Refusal::Conflict { latest: 8 }
        );
        // Pretending the witness never saw it.
        assert_eq!(
            check(&fork.request(0), &v, Some(&last)).unwrap_err(),
            Refusal::Conflict { latest: 8 }
        );
    }

    #[test]
    fn wrong_key_origin_and_sizes() {
        let mut log = Log::new(1);
        log.grow(4, 0);
        let other = Log::new(2).signer.verifier();
        assert_eq!(
            check(&log.request(0), &other, None).unwrap_err().status(),
            403
        );
        let renamed = Signer::new("dangjian/X02", SigningKey::from_bytes(&[1; 32])).unwrap();
        let mut req = log.request(0);
        req.checkpoint = Checkpoint::parse(&{
            let n = Note::parse(&req.checkpoint).unwrap();
            n.text().to_string()
        })
        .unwrap()
        .to_string();
        // Unsigned note text: malformed (no signature line).
        assert_eq!(
            check(&req, &log.signer.verifier(), None)
                .unwrap_err()
                .status(),
            400
        );
        let f = tree::Frontier::load(&log.store).unwrap();
        let req = AddCheckpoint {
            old_size: 0,
            proof: Vec::new(),
            checkpoint: Checkpoint::new("dangjian/X02", f.size(), f.root())
                .unwrap()
                .sign(&renamed)
                .to_string(),
        };
        // Signed by the right key but under another origin than the
        // verifier's name: not the log the witness knows.
        let same_key = Verifier::new(
            "dangjian/X01",
            crate::note::KeyType::Ed25519,
            SigningKey::from_bytes(&[1; 32]).verifying_key(),
        )
        .unwrap();
        assert!(check(&req, &same_key, None).is_err());
        assert_eq!(
            origin_of(&req.checkpoint).unwrap(),
            "dangjian/X02",
            "the witness picks the log by origin before checking"
        );
        assert!(check(&req, &renamed.verifier(), None).is_ok());
        let mut req = log.request(0);
        req.old_size = 9;
        assert_eq!(
            check(&req, &log.signer.verifier(), None)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn cosignature_round_trip() {
        let mut log = Log::new(1);
        log.grow(6, 0);
        let v = log.signer.verifier();
        let req = log.request(0);
        let cp = check(&req, &v, None).unwrap();
        let witness = Cosigner::new("witness/GD", SigningKey::from_bytes(&[3; 32])).unwrap();
        let resp = cosign_response(&witness, &cp, 1_795_000_000).unwrap();
        let cosigned = attach_cosignature(&req.checkpoint, &resp, &witness.verifier()).unwrap();
        let note = Note::parse(&cosigned).unwrap();
        assert_eq!(note.signatures().len(), 2);
        assert!(note.verify(&v).is_ok());
        assert_eq!(
            note.verify(&witness.verifier()).unwrap().timestamp,
            Some(1_795_000_000)
        );
        // Another witness's key does not count.
        let stranger = Cosigner::new("witness/GD", SigningKey::from_bytes(&[4; 32])).unwrap();
        assert!(attach_cosignature(&req.checkpoint, &resp, &stranger.verifier()).is_err());
    }
}
