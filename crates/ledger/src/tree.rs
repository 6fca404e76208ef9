//! Append-only Merkle tree (RFC 9162 §2.1) over a store of complete subtree hashes.
//!
//! A log keeps, for every level, the hash of every *complete* subtree: node
//! `(level, index)` covers leaves `index·2^level .. (index+1)·2^level` and is
//! written once, when its last leaf arrives, and never changes. Level 0 holds
//! the leaf hashes; level `8·L` is exactly what tlog-tiles serves as tile
//! level `L`. From these nodes the root of *any* historical size, and any
//! inclusion or consistency proof, takes O(log n) node reads:
//!
//! - a subtree of the RFC 6962 recursion is either complete (one read) or a
//!   right edge `[start, size)`, whose hash folds its complete "peaks" right
//!   to left (at most 64 reads);
//! - a proof has at most one such right edge.
//!
//! Reads are planned first ([`ProofPlan`]) and fetched in one batch
//! ([`HashStore::nodes`]), so a database-backed store answers a proof with one
//! query. Appending ([`append`], [`Frontier::append`]) returns the nodes that
//! became complete, for the caller to persist in the same transaction as the
//! leaf.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{Hash, empty_root, node_hash};

/// The position of a complete subtree: its height above the leaves and its
/// index among the subtrees of that height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// 0 for leaves, 1 for pairs of leaves, and so on.
    pub level: u8,
    /// Index among the nodes of `level`, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level`, `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }
}

/// A complete node that an append produced, to be persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Where the node sits.
    pub id: NodeId,
    /// Its hash.
    pub hash: Hash,
}

/// Storage of complete subtree hashes. Implement [`HashStore::size`] and
/// [`HashStore::node`]; override [`HashStore::nodes`] to batch reads. The
/// provided `root_at`, `inclusion_proof` and `consistency_proof` work for
/// every size up to [`HashStore::size`].
pub trait HashStore {
    /// Number of leaves stored.
    fn size(&self) -> u64;

    /// The hash of complete node `(level, index)`, or `None` if not stored.
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>>;

    /// The leaf hash at `index`.
    fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.node(0, index)?
            .ok_or(Error::MissingNode { level: 0, index })
    }

    /// The hashes of `ids`, in the same order; a missing node is an error.
    /// The default reads one node at a time.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        ids.iter()
            .map(|id| {
                self.node(id.level, id.index)?.ok_or(Error::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect()
    }

    /// The root hash of the tree of the first `size` leaves.
    fn root_at(&self, size: u64) -> Result<Hash> {
        check_size(self, size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        let proof = root_plan(size).fetch(self)?;
        Ok(proof[0])
    }

    /// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of
    /// the first `size` leaves.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        check_size(self, size)?;
        inclusion_plan(index, size)?.fetch(self)
    }

    /// The RFC 9162 §2.1.4.1 consistency proof between the trees of the
    /// first `old` and the first `new` leaves.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        check_size(self, new)?;
        consistency_plan(old, new)?.fetch(self)
    }
}

impl<T: HashStore + ?Sized> HashStore for &T {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        (**self).node(level, index)
    }
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        (**self).nodes(ids)
    }
}

fn check_size<S: HashStore + ?Sized>(store: &S, size: u64) -> Result<()> {
    let stored = store.size();
    if size > stored {
        return Err(Error::SizeBeyondStore {
            requested: size,
            stored,
        });
    }
    Ok(())
}

/// The node reads a root or proof needs, and how they combine: each proof
/// element is one group of nodes, hashed right to left (a group of one is the
/// node itself). Use it to batch reads, or to find the tiles a client needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    groups: Vec<std::ops::Range<usize>>,
}

impl ProofPlan {
    /// Every node to read, in the order [`ProofPlan::assemble`] expects.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Number of proof elements the plan yields.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether the plan yields no proof element.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Combines the hashes of [`ProofPlan::nodes`] (same order) into the
    /// proof elements.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>> {
        if hashes.len() != self.nodes.len() {
            return Err(Error::Store(
                format!(
                    "store returned {} hashes for {} nodes",
                    hashes.len(),
                    self.nodes.len()
                )
                .into(),
            ));
        }
        Ok(self
            .groups
            .iter()
            .map(|group| fold_peaks(&hashes[group.clone()]))
            .collect())
    }

    /// Reads the plan's nodes from `store` in one batch and assembles them.
    pub fn fetch<S: HashStore + ?Sized>(&self, store: &S) -> Result<Vec<Hash>> {
        if self.nodes.is_empty() {
            return Ok(Vec::new());
        }
        self.assemble(&store.nodes(&self.nodes)?)
    }

    /// Adds one proof element: the hash of leaves `start..end`, a subtree of
    /// the RFC 6962 recursion (so `start` is aligned to the largest power of
    /// two not above `end - start`).
    fn push_subtree(&mut self, start: u64, end: u64) {
        let first = self.nodes.len();
        push_peaks(start, end, &mut self.nodes);
        self.groups.push(first..self.nodes.len());
    }

    fn reverse(&mut self) {
        self.groups.reverse();
    }
}

/// Appends the complete nodes covering `start..end`, largest first.
fn push_peaks(mut start: u64, end: u64, out: &mut Vec<NodeId>) {
    while start < end {
        let len = end - start;
        let level = floor_log2(len).min(start.trailing_zeros());
        out.push(NodeId::new(level as u8, start >> level));
        start += 1 << level;
    }
}

/// Hashes peaks (largest first) into the root of the range they cover.
fn fold_peaks(peaks: &[Hash]) -> Hash {
    let (last, rest) = peaks.split_last().expect("a proof element has nodes");
    rest.iter()
        .rev()
        .fold(*last, |right, left| node_hash(left, &right))
}

fn floor_log2(n: u64) -> u32 {
    63 - n.leading_zeros()
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1 << floor_log2(n - 1)
}

/// The plan of the root of a tree of `size` leaves (empty for size 0, whose
/// root is [`empty_root`]).
pub fn root_plan(size: u64) -> ProofPlan {
    let mut plan = ProofPlan::default();
    if size > 0 {
        plan.push_subtree(0, size);
    }
    plan
}

/// The plan of the inclusion proof of leaf `index` in a tree of `size`
/// leaves: RFC 9162 §2.1.3.1 `PATH(m, D[n])`, siblings from the leaf up.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let mut plan = ProofPlan::default();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            plan.push_subtree(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_subtree(lo, lo + k);
            lo += k;
        }
    }
    plan.reverse();
    Ok(plan)
}

/// The plan of the consistency proof from a tree of `old` leaves to one of
/// `new` leaves: RFC 9162 §2.1.4.1 `PROOF(m, D[n])`. Empty when `old` is 0 or
/// equals `new`.
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan> {
    if old > new {
        return Err(Error::SizesReversed { old, new });
    }
    let mut plan = ProofPlan::default();
    if old == 0 || old == new {
        return Ok(plan);
    }
    // SUBPROOF(m, D[lo:hi], whole), unrolled from the top.
    let (mut m, mut lo, mut hi, mut whole) = (old, 0, new, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                plan.push_subtree(lo, hi);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            plan.push_subtree(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_subtree(lo, lo + k);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    plan.reverse();
    Ok(plan)
}

/// Appends `leaf_hash` as leaf `store.size()` and returns the nodes that
/// become complete, leaf first, for the caller to persist. Reads one stored
/// left sibling per returned interior node (one on average).
pub fn append<S: HashStore + ?Sized>(store: &S, leaf_hash: Hash) -> Result<Vec<StoredNode>> {
    let mut index = store.size();
    let mut level = 0u8;
    let mut hash = leaf_hash;
    let mut out = vec![StoredNode {
        id: NodeId::leaf(index),
        hash,
    }];
    while index & 1 == 1 {
        let left = store.node(level, index - 1)?.ok_or(Error::MissingNode {
            level,
            index: index - 1,
        })?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        out.push(StoredNode {
            id: NodeId::new(level, index),
            hash,
        });
    }
    Ok(out)
}

/// The right edge of a tree: the hashes of its maximal complete subtrees,
/// largest first (one per set bit of the size). Enough to append and to
/// compute the root without reading the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of the tree `store` holds.
    pub fn load<S: HashStore + ?Sized>(store: &S) -> Result<Self> {
        let size = store.size();
        let mut nodes = Vec::new();
        push_peaks(0, size, &mut nodes);
        let peaks = if nodes.is_empty() {
            Vec::new()
        } else {
            store.nodes(&nodes)?
        };
        Ok(Self { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        if self.peaks.is_empty() {
            empty_root()
        } else {
            fold_peaks(&self.peaks)
        }
    }

    /// Appends a leaf hash and returns the nodes that became complete.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<StoredNode> {
        let mut out = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.append_into(leaf_hash, &mut out);
        out
    }

    /// Like [`Frontier::append`], pushing onto `out` (reuse it to avoid an
    /// allocation per leaf).
    pub fn append_into(&mut self, leaf_hash: Hash, out: &mut Vec<StoredNode>) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf_hash;
        out.push(StoredNode {
            id: NodeId::leaf(index),
            hash,
        });
        while index & 1 == 1 {
            let left = self.peaks.pop().expect("a set size bit has a peak");
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            out.push(StoredNode {
                id: NodeId::new(level, index),
                hash,
            });
        }
        self.peaks.push(hash);
        self.size += 1;
    }
}

/// A [`HashStore`] in memory: one vector of complete node hashes per level.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash, storing every node that becomes complete, and
    /// returns the leaf's index.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let leaf_index = self.size();
        let (mut index, mut level, mut hash) = (leaf_index, 0usize, leaf_hash);
        self.level_mut(0).push(hash);
        while index & 1 == 1 {
            hash = node_hash(&self.levels[level][(index - 1) as usize], &hash);
            level += 1;
            index >>= 1;
            self.level_mut(level).push(hash);
        }
        leaf_index
    }

    /// Stores nodes computed elsewhere, e.g. by [`append`]. Each must be the
    /// next node of its level.
    pub fn insert(&mut self, nodes: &[StoredNode]) -> Result<()> {
        for node in nodes {
            let level = self.level_mut(node.id.level as usize);
            if node.id.index != level.len() as u64 {
                return Err(Error::Store(
                    format!(
                        "node ({}, {}) is not the next node of its level",
                        node.id.level, node.id.index
                    )
                    .into(),
                ));
            }
            level.push(node.hash);
        }
        Ok(())
    }

    fn level_mut(&mut self, level: usize) -> &mut Vec<Hash> {
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        &mut self.levels[level]
    }
}

impl HashStore for MemoryStore {
    fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        Ok(self
            .levels
            .get(level as usize)
            .and_then(|nodes| nodes.get(usize::try_from(index).ok()?))
            .copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn ids(plan: &ProofPlan) -> Vec<Vec<(u8, u64)>> {
        plan.groups
            .iter()
            .map(|g| {
                plan.nodes[g.clone()]
                    .iter()
                    .map(|n| (n.level, n.index))
                    .collect()
            })
            .collect()
    }

    // Plans checked against transparency-dev/merkle proof/proof_test.go
    // (TestInclusion, TestConsistency); a group of two is their "rehash".
    #[test]
    fn inclusion_plans_match_reference_node_lists() {
        let p = |i, n| ids(&inclusion_plan(i, n).unwrap());
        assert_eq!(p(0, 1), Vec::<Vec<(u8, u64)>>::new());
        assert_eq!(p(0, 2), vec![vec![(0, 1)]]);
        assert_eq!(p(1, 3), vec![vec![(0, 0)], vec![(0, 2)]]);
        assert_eq!(
            p(0, 7),
            vec![vec![(0, 1)], vec![(1, 1)], vec![(1, 2), (0, 6)]]
        );
        assert_eq!(p(4, 7), vec![vec![(0, 5)], vec![(0, 6)], vec![(2, 0)]]);
        assert_eq!(p(6, 7), vec![vec![(1, 2)], vec![(2, 0)]]);
        assert_eq!(p(3, 5), vec![vec![(0, 2)], vec![(1, 0)], vec![(0, 4)]]);
        assert_eq!(
            p(10, 15),
            vec![
                vec![(0, 11)],
                vec![(1, 4)],
                vec![(1, 6), (0, 14)],
                vec![(3, 0)]
            ]
        );
        assert_eq!(
            p(81, 95),
            vec![
                vec![(0, 80)],
                vec![(1, 41)],
                vec![(2, 21)],
                vec![(2, 22), (1, 46), (0, 94)],
                vec![(4, 4)],
                vec![(6, 0)],
            ]
        );
        assert!(matches!(
            inclusion_plan(7, 7),
            Err(Error::IndexOutOfRange { index: 7, size: 7 })
        ));
    }

    #[test]
    fn consistency_plans_match_reference_node_lists() {
        let p = |m, n| ids(&consistency_plan(m, n).unwrap());
        assert_eq!(p(1, 2), vec![vec![(0, 1)]]);
        assert_eq!(p(1, 6), vec![vec![(0, 1)], vec![(1, 1)], vec![(1, 2)]]);
        assert_eq!(p(2, 8), vec![vec![(1, 1)], vec![(2, 1)]]);
        assert_eq!(
            p(3, 7),
            vec![
                vec![(0, 2)],
                vec![(0, 3)],
                vec![(1, 0)],
                vec![(1, 2), (0, 6)]
            ]
        );
        assert_eq!(p(4, 7), vec![vec![(1, 2), (0, 6)]]);
        assert_eq!(
            p(7, 8),
            vec![vec![(0, 6)], vec![(0, 7)], vec![(1, 2)], vec![(2, 0)]]
        );
        assert_eq!(
            p(24, 31),
            vec![vec![(3, 2)], vec![(2, 6), (1, 14), (0, 30)], vec![(4, 0)]]
        );
        assert!(p(5, 5).is_empty());
        assert!(p(0, 5).is_empty());
        assert!(matches!(
            consistency_plan(9, 8),
            Err(Error::SizesReversed { old: 9, new: 8 })
        ));
    }

    #[test]
    fn append_paths_agree() {
        let mut memory = MemoryStore::new();
        let mut replayed = MemoryStore::new();
        let mut frontier = Frontier::new();
        for i in 0..200u32 {
            let h = leaf_hash(&i.to_be_bytes());
            let from_store = append(&replayed, h).unwrap();
            let from_frontier = frontier.append(h);
            assert_eq!(from_store, from_frontier);
            replayed.insert(&from_store).unwrap();
            memory.push(h);
            let size = u64::from(i) + 1;
            assert_eq!(frontier.size(), size);
            assert_eq!(frontier.root(), memory.root_at(size).unwrap());
            assert_eq!(Frontier::load(&memory).unwrap(), frontier);
        }
        for level in 0..9u8 {
            for index in 0..(200u64 >> level) {
                assert_eq!(
                    memory.node(level, index).unwrap(),
                    replayed.node(level, index).unwrap()
                );
            }
            assert_eq!(memory.node(level, 200u64 >> level).unwrap(), None);
        }
    }

    #[test]
    fn out_of_store_requests_are_refused() {
        let mut store = MemoryStore::new();
        store.push(leaf_hash(b"a"));
        assert!(matches!(
            store.root_at(2),
            Err(Error::SizeBeyondStore {
                requested: 2,
                stored: 1
            })
        ));
        assert!(store.inclusion_proof(0, 2).is_err());
        assert!(store.consistency_proof(1, 2).is_err());
        assert_eq!(store.root_at(0).unwrap(), empty_root());
    }

    #[test]
    fn insert_rejects_gaps() {
        let mut store = MemoryStore::new();
        let gap = StoredNode {
            id: NodeId::leaf(1),
            hash: [0; 32],
        };
        assert!(store.insert(&[gap]).is_err());
    }
}
