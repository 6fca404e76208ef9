//! Independent proof verifiers, step by step as RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! They share nothing with [`crate::tree`] but the hash functions, so a proof
//! produced there is checked by separate logic.

use crate::error::{Error, Result};
use crate::hash::{Hash, empty_root, node_hash};

/// Checks that `proof` proves the leaf with hash `leaf_hash` at `index` in
/// the tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if &computed != root {
        return Err(Error::ProofInvalid("computed root differs"));
    }
    Ok(())
}

/// The root that an inclusion proof implies for the leaf (RFC 9162 §2.1.3.2
/// steps 1–5), or an error if the proof's length does not fit `index` and
/// `size`.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash> {
    if index >= size {
        return Err(Error::ProofInvalid("leaf index outside the tree"));
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(Error::ProofInvalid("proof too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(Error::ProofInvalid("proof too short"));
    }
    Ok(r)
}

/// Checks that `proof` shows the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root
/// `new_root` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal
/// roots; size 0 needs an empty proof and the empty root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old_size > new_size {
        return Err(Error::ProofInvalid("old size exceeds new size"));
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(Error::ProofInvalid("proof must be empty"));
        }
        if old_size == 0 && old_root != &empty_root() {
            return Err(Error::ProofInvalid("old root is not the empty root"));
        }
        if old_size == new_size && old_root != new_root {
            return Err(Error::ProofInvalid("roots of equal sizes differ"));
        }
        return Ok(());
    }
    // Step 1.
    if proof.is_empty() {
        return Err(Error::ProofInvalid("empty proof"));
    }
    // Step 2: a power-of-two old tree is itself the first proof node.
    let prefix: &[Hash] = if old_size.is_power_of_two() {
        std::slice::from_ref(old_root)
    } else {
        &[]
    };
    let mut path = prefix.iter().chain(proof);
    // Steps 3 and 4.
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    let first = path.next().expect("path is not empty");
    let (mut f_r, mut s_r) = (*first, *first);
    // Step 6.
    for c in path {
        if s_n == 0 {
            return Err(Error::ProofInvalid("proof too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(Error::ProofInvalid("proof too short"));
    }
    if &f_r != old_root {
        return Err(Error::ProofInvalid("computed old root differs"));
    }
    if &s_r != new_root {
        return Err(Error::ProofInvalid("computed new root differs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn single_leaf_tree_needs_an_empty_proof() {
        let h = leaf_hash(b"data");
        assert!(verify_inclusion(&h, 0, 1, &[], &h).is_ok());
        assert!(verify_inclusion(&h, 0, 1, &[h], &h).is_err());
        assert!(verify_inclusion(&h, 1, 1, &[], &h).is_err());
        assert!(verify_inclusion(&h, 0, 0, &[], &h).is_err());
    }

    #[test]
    fn trivial_consistency_cases() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let e = empty_root();
        assert!(verify_consistency(0, 0, &e, &e, &[]).is_ok());
        assert!(verify_consistency(0, 5, &e, &a, &[]).is_ok());
        assert!(verify_consistency(0, 5, &a, &b, &[]).is_err());
        assert!(verify_consistency(0, 5, &e, &a, &[a]).is_err());
        assert!(verify_consistency(3, 3, &a, &a, &[]).is_ok());
        assert!(verify_consistency(3, 3, &a, &b, &[]).is_err());
        assert!(verify_consistency(3, 3, &a, &a, &[a]).is_err());
        assert!(verify_consistency(4, 3, &a, &b, &[a]).is_err());
        assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    }
}
