//! Property tests: for random tree sizes up to 300 every root and proof
//! matches a naive RFC 9162 recursion and verifies, and corrupting any byte of
//! a proof, root or leaf hash makes verification fail.

use std::sync::OnceLock;

use dangjian_ledger::hash::{Hash, empty_root, leaf_hash, node_hash};
use dangjian_ledger::tree::{HashStore, MemoryStore};
use dangjian_ledger::verify::{verify_consistency, verify_inclusion};
use proptest::prelude::*;

const MAX: u64 = 300;

/// One store of 300 leaves; every smaller size is a historical size of it.
fn fixture() -> &'static (MemoryStore, Vec<Hash>) {
    static FIXTURE: OnceLock<(MemoryStore, Vec<Hash>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut store = MemoryStore::new();
        let leaves: Vec<Hash> = (0..MAX)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect();
        for &leaf in &leaves {
            store.push(leaf);
        }
        (store, leaves)
    })
}

/// The largest power of two strictly below `n`.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.1 MTH, literally.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// RFC 9162 §2.1.3.1 PATH, literally.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        [path(m, &d[..k]), vec![mth(&d[k..])]].concat()
    } else {
        [path(m - k, &d[k..]), vec![mth(&d[..k])]].concat()
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF, literally.
fn subproof(m: usize, d: &[Hash], whole: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if whole { Vec::new() } else { vec![mth(d)] };
    }
    let k = split(n);
    if m <= k {
        [subproof(m, &d[..k], whole), vec![mth(&d[k..])]].concat()
    } else {
        [subproof(m - k, &d[k..], false), vec![mth(&d[..k])]].concat()
    }
}

fn flip(mut h: Hash, at: usize, mask: u8) -> Hash {
    h[at % 32] ^= mask;
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_inclusion_proof_matches_the_rfc_and_verifies(size in 1..=MAX) {
        let (store, leaves) = fixture();
        let d = &leaves[..size as usize];
        let root = store.root_at(size).unwrap();
        prop_assert_eq!(root, mth(d));
        for index in 0..size {
            let proof = store.inclusion_proof(index, size).unwrap();
            prop_assert_eq!(&proof, &path(index as usize, d));
            prop_assert!(verify_inclusion(&d[index as usize], index, size, &proof, &root).is_ok());
        }
    }

    #[test]
    fn every_consistency_proof_matches_the_rfc_and_verifies(new in 1..=MAX) {
        let (store, leaves) = fixture();
        let new_root = store.root_at(new).unwrap();
        for old in 0..=new {
            let proof = store.consistency_proof(old, new).unwrap();
            if old > 0 {
                prop_assert_eq!(&proof, &subproof(old as usize, &leaves[..new as usize], true));
            } else {
                prop_assert!(proof.is_empty());
            }
            let old_root = store.root_at(old).unwrap();
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        }
    }

    #[test]
    fn a_corrupted_inclusion_proof_fails(
        size in 1..=MAX,
        seed in any::<u64>(),
        target in 0..3u8,
        element in any::<usize>(),
        at in 0..32usize,
        mask in 1..=255u8,
    ) {
        let (store, leaves) = fixture();
        let index = seed % size;
        let mut leaf = leaves[index as usize];
        let mut root = store.root_at(size).unwrap();
        let mut proof = store.inclusion_proof(index, size).unwrap();
        match (target, proof.len()) {
            (0, len) if len > 0 => proof[element % len] = flip(proof[element % len], at, mask),
            (1, _) => leaf = flip(leaf, at, mask),
            _ => root = flip(root, at, mask),
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn a_corrupted_consistency_proof_fails(
        new in 2..=MAX,
        seed in any::<u64>(),
        target in 0..3u8,
        element in any::<usize>(),
        at in 0..32usize,
        mask in 1..=255u8,
    ) {
        let (store, _) = fixture();
        let old = 1 + seed % (new - 1);
        let mut old_root = store.root_at(old).unwrap();
        let mut new_root = store.root_at(new).unwrap();
        let mut proof = store.consistency_proof(old, new).unwrap();
        prop_assert!(!proof.is_empty());
        match target {
            0 => {
                let len = proof.len();
                proof[element % len] = flip(proof[element % len], at, mask);
            }
            1 => old_root = flip(old_root, at, mask),
            _ => new_root = flip(new_root, at, mask),
        }
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_err());
    }
}

/// Exhaustively, for small trees: flipping any bit of any byte of any proof
/// element, of the leaf or of the root(s) is caught.
#[test]
fn every_single_bit_flip_is_caught_in_small_trees() {
    let (store, leaves) = fixture();
    for size in 1..=17u64 {
        let root = store.root_at(size).unwrap();
        for index in 0..size {
            let leaf = leaves[index as usize];
            let proof = store.inclusion_proof(index, size).unwrap();
            for at in 0..32 {
                for bit in 0..8 {
                    let mask = 1 << bit;
                    assert!(
                        verify_inclusion(&flip(leaf, at, mask), index, size, &proof, &root)
                            .is_err()
                    );
                    assert!(
                        verify_inclusion(&leaf, index, size, &proof, &flip(root, at, mask))
                            .is_err()
                    );
                    for k in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[k] = flip(bad[k], at, mask);
                        assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                    }
                }
            }
        }
        for old in 1..size {
            let old_root = store.root_at(old).unwrap();
            let proof = store.consistency_proof(old, size).unwrap();
            for at in 0..32 {
                for bit in 0..8 {
                    let mask = 1 << bit;
                    assert!(
                        verify_consistency(old, size, &flip(old_root, at, mask), &root, &proof)
                            .is_err()
                    );
                    assert!(
                        verify_consistency(old, size, &old_root, &flip(root, at, mask), &proof)
                            .is_err()
                    );
                    for k in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[k] = flip(bad[k], at, mask);
                        assert!(
                            verify_consistency(old, size, &old_root, &root, &bad).is_err(),
                            "{old}->{size} element {k} byte {at} bit {bit}"
                        );
                    }
                }
            }
        }
    }
}

/// Proofs for one size do not verify for a neighbouring size or index.
#[test]
fn proofs_are_bound_to_their_sizes() {
    let (store, leaves) = fixture();
    for size in 2..=64u64 {
        let root = store.root_at(size).unwrap();
        for index in 0..size {
            let proof = store.inclusion_proof(index, size).unwrap();
            let leaf = leaves[index as usize];
            for other in [size - 1, size + 1] {
                let other_root = store.root_at(other).unwrap();
                assert!(verify_inclusion(&leaf, index, other, &proof, &other_root).is_err());
            }
            for other in [index.wrapping_sub(1), index + 1] {
                assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            }
        }
    }
}
