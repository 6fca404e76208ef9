//! Storage of the archive ledger: leaves, complete subtree hashes and signed
//! checkpoints, and a database-backed [`HashStore`].
//!
//! The `ledger` crate's [`HashStore`] is synchronous, so reads are planned
//! first and fetched in one query: [`prefetch`] reads a set of nodes (one
//! `SELECT`, inside whatever transaction the caller holds) into a
//! [`DbNodes`], which answers the crate's root, proof, tile and append
//! functions for exactly those nodes. [`frontier`] loads the right edge of
//! the tree the same way, so a batch of appends needs no further reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dangjian_ledger::tree::{ProofPlan, root_plan};
use dangjian_ledger::{Frontier, Hash, HashStore, NodeId, StoredNode};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::StoreError;
use crate::entities::{ledger_checkpoint, ledger_leaf, ledger_node};

/// Nodes per `SELECT … WHERE (level, idx) IN …` and rows per `INSERT`.
const CHUNK: usize = 400;

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

/// Number of leaves: one more than the highest stored leaf index.
pub async fn size<C: ConnectionTrait>(c: &C) -> Result<u64, StoreError> {
    let max: Option<Option<i64>> = ledger_leaf::Entity::find()
        .select_only()
        .column_as(ledger_leaf::Column::LeafIndex.max(), "m")
        .into_tuple()
        .one(c)
        .await?;
    Ok(max.flatten().map_or(0, |m| m as u64 + 1))
}

/// The hashes of `ids` that are stored (missing ones are absent).
pub async fn nodes<C: ConnectionTrait>(
    c: &C,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut any = Condition::any();
        for id in chunk {
            any = any.add(
                Condition::all()
                    .add(ledger_node::Column::Level.eq(i32::from(id.level)))
                    .add(ledger_node::Column::Idx.eq(id.index as i64)),
            );
        }
        for n in ledger_node::Entity::find().filter(any).all(c).await? {
            let id = NodeId::new(n.level as u8, n.idx as u64);
            out.insert(id, to_hash(&n.hash, "a node hash")?);
        }
    }
    Ok(out)
}

/// Nodes of one level, `from..to`, in order (a tile is 256 of them).
pub async fn node_range<C: ConnectionTrait>(
    c: &C,
    level: u8,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    ledger_node::Entity::find()
        .filter(ledger_node::Column::Level.eq(i32::from(level)))
        .filter(ledger_node::Column::Idx.gte(from as i64))
        .filter(ledger_node::Column::Idx.lt(to as i64))
        .order_by_asc(ledger_node::Column::Idx)
        .all(c)
        .await?
        .into_iter()
        .map(|n| Ok((n.idx as u64, to_hash(&n.hash, "a node hash")?)))
        .collect()
}

/// Node hashes read from the database for one computation: a [`HashStore`]
/// of the tree of `size` leaves that knows only the prefetched nodes.
#[derive(Debug, Clone, Default)]
pub struct DbNodes {
    size: u64,
    nodes: HashMap<NodeId, Hash>,
}

impl DbNodes {
    /// The prefetched nodes, by position.
    pub fn nodes(&self) -> &HashMap<NodeId, Hash> {
        &self.nodes
    }
}

impl HashStore for DbNodes {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u8, index: u64) -> dangjian_ledger::Result<Option<Hash>> {
        Ok(self.nodes.get(&NodeId::new(level, index)).copied())
    }
}

/// Reads `ids` in one query (per 400 nodes) into a store of a tree of
/// `size` leaves.
pub async fn prefetch<C: ConnectionTrait>(
    c: &C,
    size: u64,
    ids: &[NodeId],
) -> Result<DbNodes, StoreError> {
    Ok(DbNodes {
        size,
        nodes: nodes(c, ids).await?,
    })
}

/// Reads what `plan` needs; then `plan.fetch(&store)` gives the proof.
pub async fn prefetch_plan<C: ConnectionTrait>(
    c: &C,
    size: u64,
    plan: &ProofPlan,
) -> Result<DbNodes, StoreError> {
    prefetch(c, size, plan.nodes()).await
}

/// Key of the PostgreSQL advisory lock that serializes appends.
pub(crate) const APPEND_LOCK: i64 = 0x646a_6c65_6467_6572; // "djledger"

/// The right edge of the stored tree (one size query, one node query).
///
/// Call it inside the transaction that appends: on PostgreSQL it first takes
/// a transaction-scoped advisory lock, so concurrent writers append one after
/// the other instead of computing the same leaf index (SQLite writers are
/// serialized already: the caller holds the write lock once it has written).
pub async fn frontier<C: ConnectionTrait>(c: &C) -> Result<Frontier, StoreError> {
    if c.get_database_backend() == DbBackend::Postgres {
        c.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({APPEND_LOCK})"))
            .await?;
    }
    let size = size(c).await?;
    let store = prefetch_plan(c, size, &root_plan(size)).await?;
    Frontier::load(&store).map_err(|e| StoreError::Corrupt(format!("ledger frontier: {e}")))
}

/// One leaf to store.
#[derive(Debug, Clone)]
pub struct NewLeaf {
    pub index: u64,
    pub leaf: Vec<u8>,
    pub member_event_id: Option<i64>,
    pub member_id: Option<i64>,
    pub member_digest: Vec<u8>,
}

/// Stores leaves and the nodes their appends completed, in multi-row inserts.
pub async fn insert<C: ConnectionTrait>(
    c: &C,
    leaves: Vec<NewLeaf>,
    nodes: &[StoredNode],
) -> Result<(), StoreError> {
    // The bulk path: one multi-row INSERT per chunk, cached statement text.
    let leaves: Vec<ledger_leaf::ActiveModel> = leaves
        .into_iter()
        .map(|l| ledger_leaf::ActiveModel {
            leaf_index: Set(l.index as i64),
            leaf: Set(l.leaf),
            member_event_id: Set(l.member_event_id),
            member_id: Set(l.member_id),
            member_digest: Set(l.member_digest),
        })
        .collect();
    crate::repo::bulk::insert(c, leaves, false).await?;
    let nodes: Vec<ledger_node::ActiveModel> = nodes
        .iter()
        .map(|n| ledger_node::ActiveModel {
            level: Set(i32::from(n.id.level)),
            idx: Set(n.id.index as i64),
            hash: Set(n.hash.to_vec()),
        })
        .collect();
    crate::repo::bulk::insert(c, nodes, false).await?;
    Ok(())
}

/// The leaf at `index`.
pub async fn leaf<C: ConnectionTrait>(
    c: &C,
    index: u64,
) -> Result<Option<ledger_leaf::Model>, StoreError> {
    Ok(ledger_leaf::Entity::find_by_id(index as i64).one(c).await?)
}

/// Leaves with index in `from..to`, in order.
pub async fn leaves<C: ConnectionTrait>(
    c: &C,
    from: u64,
    to: u64,
) -> Result<Vec<ledger_leaf::Model>, StoreError> {
    Ok(ledger_leaf::Entity::find()
        .filter(ledger_leaf::Column::LeafIndex.gte(from as i64))
        .filter(ledger_leaf::Column::LeafIndex.lt(to as i64))
        .order_by_asc(ledger_leaf::Column::LeafIndex)
        .all(c)
        .await?)
}

/// The leaves of member `member_id`, oldest first.
pub async fn member_leaves<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<ledger_leaf::Model>, StoreError> {
    Ok(ledger_leaf::Entity::find()
        .filter(ledger_leaf::Column::MemberId.eq(member_id))
        .order_by_asc(ledger_leaf::Column::LeafIndex)
        .all(c)
        .await?)
}

/// Which of `event_ids` already have a leaf.
pub async fn logged_events<C: ConnectionTrait>(
    c: &C,
    event_ids: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    for chunk in event_ids.chunks(CHUNK) {
        let ids: Vec<Option<i64>> = ledger_leaf::Entity::find()
            .select_only()
            .column(ledger_leaf::Column::MemberEventId)
            .filter(ledger_leaf::Column::MemberEventId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(c)
            .await?;
        out.extend(ids.into_iter().flatten());
    }
    Ok(out)
}

/// Nodes with `(level, idx)` after `after`, in that order, at most `limit`
/// (for a full scan in pages).
pub async fn node_page<C: ConnectionTrait>(
    c: &C,
    after: Option<NodeId>,
    limit: u64,
) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
    let mut q = ledger_node::Entity::find();
    if let Some(a) = after {
        q = q.filter(
            Condition::any()
                .add(ledger_node::Column::Level.gt(i32::from(a.level)))
                .add(
                    Condition::all()
                        .add(ledger_node::Column::Level.eq(i32::from(a.level)))
                        .add(ledger_node::Column::Idx.gt(a.index as i64)),
                ),
        );
    }
    Ok(q.order_by_asc(ledger_node::Column::Level)
        .order_by_asc(ledger_node::Column::Idx)
        .limit(limit)
        .all(c)
        .await?
        .into_iter()
        .map(|n| {
            (
                NodeId::new(n.level.clamp(0, 255) as u8, n.idx as u64),
                n.hash,
            )
        })
        .collect())
}

/// Number of stored nodes.
pub async fn node_count<C: ConnectionTrait>(c: &C) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(ledger_node::Entity::find().count(c).await?)
}

/// Stores a signed checkpoint (ignored if one of that size exists).
pub async fn insert_checkpoint<C: ConnectionTrait>(
    c: &C,
    size: u64,
    root: &Hash,
    note: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let am = ledger_checkpoint::ActiveModel {
        size: Set(size as i64),
        root: Set(root.to_vec()),
        note: Set(note.to_string()),
        at: Set(at),
    };
    ledger_checkpoint::Entity::insert(am)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(ledger_checkpoint::Column::Size)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// The checkpoint of the largest size.
pub async fn latest_checkpoint<C: ConnectionTrait>(
    c: &C,
) -> Result<Option<ledger_checkpoint::Model>, StoreError> {
    Ok(ledger_checkpoint::Entity::find()
        .order_by_desc(ledger_checkpoint::Column::Size)
        .one(c)
        .await?)
}

/// Every checkpoint, smallest size first.
pub async fn checkpoints<C: ConnectionTrait>(
    c: &C,
) -> Result<Vec<ledger_checkpoint::Model>, StoreError> {
    Ok(ledger_checkpoint::Entity::find()
        .order_by_asc(ledger_checkpoint::Column::Size)
        .all(c)
        .await?)
}
