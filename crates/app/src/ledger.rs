//! The archive ledger wired into the platform (issue 4, first slice).
//!
//! Every `member_events` row gets a leaf in the RFC 9162 log of the `ledger`
//! crate, appended in the same transaction as the row. A leaf holds the event
//! kind, the member's pseudonymous uid (`members.uid`), the time and an
//! HMAC commitment over the event's canonical content: the record id, member,
//! organization, kind, time, actor, the decrypted detail, and a keyed digest
//! of the member row as it stands after the event (kept next to the leaf, so
//! an edited `members` row no longer matches its latest leaf). The
//! commitment key is derived from the keyring's blind-index key, so leaves
//! reveal nothing without the key file.
//!
//! Checkpoints are C2SP signed notes under an Ed25519 key created at first
//! start (`ledger.key` next to `keys.json`, mode 0600); the origin line is
//! `dangjian/<root organization code>`. [`App::ledger_verify`] is the
//! `dangjian ledger verify` logic.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use dangjian_domain::identity::Role;
use dangjian_ledger::leaf::commit;
use dangjian_ledger::tiles::{EntryBundleId, TileId, encode_entry_bundle};
use dangjian_ledger::tree::{consistency_plan, inclusion_plan};
use dangjian_ledger::{
    ArchiveLeaf, Checkpoint, Frontier, Hash, HashStore, MemoryStore, Signer, StoredNode, Verifier,
    leaf_hash, verify_consistency,
};
use dangjian_store::entities::{member, member_event};
use dangjian_store::repo::ledger::{self as repo, NewLeaf};
use dangjian_store::repo::orgs as orepo;
use ed25519_dalek::SigningKey;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::members::AAD_EVENT;
use crate::{Actor, App, AppError};

/// Name of the signing key file, next to the keyring's file.
pub const KEY_FILE_NAME: &str = "ledger.key";
const COMMITMENT_DOMAIN: &str = "ledger.commitment";
const SIGNING_DOMAIN: &str = "ledger.signing";
const PAGE: u64 = 10_000;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("ledger: {e}"))
}

/// Length-prefixed canonical encoding of a record's fields.
struct Canon(Vec<u8>);

impl Canon {
    fn new(domain: &str) -> Self {
        let mut c = Canon(Vec::with_capacity(256));
        c.bytes(domain.as_bytes());
        c
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&(b.len() as u32).to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) -> &mut Self {
        match v {
            None => {
                self.0.push(0);
            }
            Some(v) => {
                self.0.push(1);
                f(self, v);
            }
        }
        self
    }
}

fn date_str(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// The keyed digest of a member row's archive fields.
pub fn member_digest(key: &[u8; 32], m: &member::Model) -> [u8; 32] {
    let mut c = Canon::new("dangjian/member/v1");
    c.i64(m.id)
        .bytes(m.uid.as_bytes())
        .i64(m.org_id)
        .opt(m.group_id, |c, v| {
            c.i64(v);
        })
        .str(&m.name)
        .bytes(&m.id_enc)
        .str(&m.id_bidx)
        .str(&m.id_masked)
        .str(&m.birth_date.to_string())
        .str(&m.sex)
        .str(&m.ethnicity)
        .opt(m.phone_enc.as_deref(), |c, v| {
            c.bytes(v);
        })
        .opt(m.phone_masked.as_deref(), |c, v| {
            c.str(v);
        })
        .opt(m.education.as_deref(), |c, v| {
            c.str(v);
        })
        .str(&m.dues_category)
        .str(&m.stage);
    for d in [
        m.applied_on,
        m.activist_on,
        m.development_target_on,
        m.probationary_on,
        m.full_on,
    ] {
        c.opt(date_str(d), |c, v| {
            c.str(&v);
        });
    }
    c.i64(i64::from(m.is_mobile))
        .str(&m.status)
        .i64(m.created_at.timestamp_millis())
        .i64(m.updated_at.timestamp_millis());
    commit(key, &c.0)
}

/// The canonical content an event's leaf commits to.
fn event_content(ev: &member_event::Model, detail: &[u8], member_digest: &[u8]) -> Vec<u8> {
    let mut c = Canon::new("dangjian/member_event/v1");
    c.i64(ev.id)
        .i64(ev.member_id)
        .i64(ev.org_id)
        .str(&ev.kind)
        .i64(ev.at.timestamp_millis())
        .opt(ev.actor_user_id, |c, v| {
            c.i64(v);
        })
        .bytes(detail)
        .bytes(member_digest);
    c.0
}

/// A problem `ledger verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerProblem {
    /// Stable code: `leaf_gap`, `node_mismatch`, `node_missing`,
    /// `node_unexpected`, `checkpoint_signature`, `checkpoint_root`,
    /// `checkpoint_beyond_log`, `checkpoint_inconsistent`, `record_edited`,
    /// `record_added`, `record_deleted`, `member_edited`, `member_added`,
    /// `member_deleted`.
    pub code: &'static str,
    /// The database record concerned, `table#id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The leaf concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    pub message: String,
}

/// What `ledger verify` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerReport {
    pub ok: bool,
    pub size: u64,
    pub root: String,
    pub checkpoints: usize,
    pub problems: Vec<LedgerProblem>,
}

/// A leaf with, for an authorized reader, the event it records.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    pub index: u64,
    /// The leaf bytes, base64.
    pub leaf: String,
    pub event_type: String,
    pub at_unix_ms: i64,
    /// The event, when the reader may see the member.
    pub event: Option<LedgerEvent>,
}

/// The event a leaf records.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEvent {
    pub record_id: i64,
    pub member_id: i64,
    pub org_id: i64,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// Whether a member's archive history verifies against the latest checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct MemberLedgerStatus {
    /// Every event re-derives to its leaf, every leaf is in the signed
    /// checkpoint, and the member row matches its latest leaf.
    pub verified: bool,
    /// Size of the latest signed checkpoint (0 when none).
    pub checkpoint_size: u64,
    pub events: Vec<MemberLedgerEvent>,
    /// The member row matches the state recorded at its latest leaf.
    pub row_matches: bool,
}

/// One archive event of a member and its leaf.
#[derive(Debug, Clone, Serialize)]
pub struct MemberLedgerEvent {
    pub record_id: i64,
    pub kind: String,
    pub leaf_index: Option<u64>,
    /// `verified`, `pending` (logged after the latest checkpoint),
    /// `mismatch` (row and leaf differ), `unlogged` (no leaf) or
    /// `not_included` (the proof against the checkpoint fails).
    pub status: &'static str,
}

/// Appends leaves within one transaction; holds the tree's right edge so a
/// batch of appends needs no reads of the node table.
pub struct LedgerAppender {
    key: [u8; 32],
    frontier: Frontier,
}

impl LedgerAppender {
    /// Number of leaves after the appends so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The commitment key and the tree's right edge, for appends made
    /// elsewhere within the same transaction (the import's pipeline).
    pub(crate) fn into_parts(self) -> ([u8; 32], Frontier) {
        (self.key, self.frontier)
    }

    /// Appends a leaf for every event of `member_ids` that has none yet.
    pub async fn append_members<C: ConnectionTrait>(
        &mut self,
        app: &App,
        c: &C,
        member_ids: &[i64],
    ) -> Result<usize, AppError> {
        let mut events = Vec::new();
        for chunk in member_ids.chunks(400) {
            events.extend(
                member_event::Entity::find()
                    .filter(member_event::Column::MemberId.is_in(chunk.to_vec()))
                    .all(c)
                    .await?,
            );
        }
        self.append_events(app, c, events).await
    }

    /// Appends a leaf for each event of `events` that has none yet, in id
    /// order.
    pub async fn append_events<C: ConnectionTrait>(
        &mut self,
        app: &App,
        c: &C,
        mut events: Vec<member_event::Model>,
    ) -> Result<usize, AppError> {
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        let logged: std::collections::HashSet<i64> =
            repo::logged_events(c, &ids).await?.into_iter().collect();
        events.retain(|e| !logged.contains(&e.id));
        if events.is_empty() {
            return Ok(0);
        }
        let mut member_ids: Vec<i64> = events.iter().map(|e| e.member_id).collect();
        member_ids.sort_unstable();
        member_ids.dedup();
        let members = members_by_id(c, &member_ids).await?;
        let mut leaves = Vec::with_capacity(events.len());
        let mut nodes: Vec<StoredNode> = Vec::with_capacity(events.len() * 2);
        for ev in &events {
            let m = members
                .get(&ev.member_id)
                .ok_or_else(|| internal(format!("member {} of event {}", ev.member_id, ev.id)))?;
            let detail = app.keys.decrypt(&ev.detail_enc, AAD_EVENT)?;
            let digest = member_digest(&self.key, m);
            let leaf = leaf_of(&self.key, ev, m, &detail, &digest)?;
            let index = self.frontier.size();
            self.frontier.append_into(leaf.leaf_hash(), &mut nodes);
            leaves.push(NewLeaf {
                index,
                leaf: leaf.encode(),
                member_event_id: Some(ev.id),
                member_id: Some(ev.member_id),
                member_digest: digest.to_vec(),
            });
        }
        let n = leaves.len();
        repo::insert(c, leaves, &nodes).await?;
        Ok(n)
    }
}

fn leaf_of(
    key: &[u8; 32],
    ev: &member_event::Model,
    m: &member::Model,
    detail: &[u8],
    digest: &[u8],
) -> Result<ArchiveLeaf, AppError> {
    ArchiveLeaf::new(
        format!("member.{}", ev.kind),
        *m.uid.as_bytes(),
        ev.at.timestamp_millis(),
        commit(key, &event_content(ev, detail, digest)),
    )
    .map_err(internal)
}

/// The leaf of an event built in memory (the roster import's pipeline,
/// which reserves ids and writes rows and leaves together), with the member
/// digest stored beside it. Same derivation as [`LedgerAppender`]'s, so
/// `ledger verify` re-derives it from the stored rows.
pub(crate) fn leaf_in_memory(
    key: &[u8; 32],
    ev: &member_event::Model,
    m: &member::Model,
    detail: &[u8],
) -> Result<(ArchiveLeaf, [u8; 32]), AppError> {
    let digest = member_digest(key, m);
    Ok((leaf_of(key, ev, m, detail, &digest)?, digest))
}

async fn members_by_id<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<HashMap<i64, member::Model>, AppError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(400) {
        for m in member::Entity::find()
            .filter(member::Column::Id.is_in(chunk.to_vec()))
            .all(c)
            .await?
        {
            out.insert(m.id, m);
        }
    }
    Ok(out)
}

pub(crate) fn hex_seed(hex64: &str) -> Result<[u8; 32], AppError> {
    hex::decode(hex64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| internal("derived key is not 32 bytes"))
}

/// Reads the signing key seed from `path`, creating it (mode 0600) when
/// missing.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, AppError> {
    let bad = |e: String| internal(format!("{}: {e}", path.display()));
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let seed: [u8; 32] = B64
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("not base64 of a 32-byte Ed25519 seed".into()))?;
        return Ok(SigningKey::from_bytes(&seed));
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| bad(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| bad(e.to_string()))?;
    use std::io::Write;
    writeln!(f, "{}", B64.encode(seed)).map_err(|e| bad(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

fn may_audit_ledger(actor: &Actor) -> bool {
    actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Auditor | Role::Admin))
}

/// The reader of a public ledger (`AppConfig::ledger_public`) without
/// credentials: no grant, so no event is ever shown to it.
pub fn public_reader() -> Actor {
    Actor {
        user_id: 0,
        login: "public".into(),
        display_name: "public".into(),
        member_id: None,
        grants: Vec::new(),
        remote_addr: None,
    }
}

fn bad(field: &str, zh: &str, en: String) -> AppError {
    AppError::field(field, "bad_request", zh, en)
}

impl App {
    /// The keyed-commitment key of leaves.
    pub fn ledger_commitment_key(&self) -> Result<[u8; 32], AppError> {
        hex_seed(&self.keys.blind_index(COMMITMENT_DOMAIN, "v1"))
    }

    fn ledger_signing_key(&self) -> Result<SigningKey, AppError> {
        if let Some(k) = self.ledger_key.get() {
            return Ok(k.clone());
        }
        let key = match &self.config.ledger_key_file {
            Some(path) => load_or_create_key(path)?,
            // No file configured (tests, embedded use): a key derived from
            // the keyring, stable for as long as the keyring is.
            None => {
                SigningKey::from_bytes(&hex_seed(&self.keys.blind_index(SIGNING_DOMAIN, "v1"))?)
            }
        };
        Ok(self.ledger_key.get_or_init(|| key).clone())
    }

    /// The log's origin line: `dangjian/<root organization code>`.
    pub async fn ledger_origin(&self) -> Result<String, AppError> {
        let roots = orepo::roots(&self.db.conn).await?;
        Ok(format!(
            "dangjian/{}",
            roots.first().map_or("unconfigured", |r| r.code.as_str())
        ))
    }

    /// The checkpoint signer.
    pub async fn ledger_signer(&self) -> Result<Signer, AppError> {
        Signer::new(self.ledger_origin().await?, self.ledger_signing_key()?).map_err(internal)
    }

    /// The C2SP verifier key string of the log.
    pub async fn ledger_vkey(&self) -> Result<String, AppError> {
        Ok(self.ledger_signer().await?.verifier().to_vkey())
    }

    /// An appender positioned at the end of the stored log; use it in the
    /// transaction that writes the events.
    pub async fn ledger_appender<C: ConnectionTrait>(
        &self,
        c: &C,
    ) -> Result<LedgerAppender, AppError> {
        Ok(LedgerAppender {
            key: self.ledger_commitment_key()?,
            frontier: repo::frontier(c).await?,
        })
    }

    /// Appends the leaf of one freshly written event, in the caller's
    /// transaction.
    pub async fn ledger_append_event<C: ConnectionTrait>(
        &self,
        c: &C,
        event: member_event::Model,
    ) -> Result<(), AppError> {
        let mut a = self.ledger_appender(c).await?;
        a.append_events(self, c, vec![event]).await?;
        Ok(())
    }

    /// Signs and stores a checkpoint of the current log (returns the latest
    /// stored one when the log has not grown). Returns the signed note.
    pub async fn ledger_checkpoint(&self) -> Result<String, AppError> {
        let signer = self.ledger_signer().await?;
        // Read-only when nothing was appended since the last checkpoint, so
        // frequent GETs of the checkpoint never contend for the write lock.
        let size = repo::size(&self.db.conn).await?;
        if let Some(cp) = repo::latest_checkpoint(&self.db.conn).await?
            && cp.size as u64 == size
        {
            return Ok(cp.note);
        }
        let (_writer, tx) = self.begin_write().await?;
        let frontier = repo::frontier(&tx).await?;
        if let Some(cp) = repo::latest_checkpoint(&tx).await?
            && cp.size as u64 == frontier.size()
        {
            return Ok(cp.note);
        }
        let root = frontier.root();
        let note = Checkpoint::new(signer.name(), frontier.size(), root)
            .map_err(internal)?
            .sign(&signer)
            .to_string();
        repo::insert_checkpoint(&tx, frontier.size(), &root, &note, self.clock.now()).await?;
        tx.commit().await?;
        Ok(note)
    }

    fn ledger_reader(&self, actor: &Actor) -> Result<(), AppError> {
        if self.config.ledger_public || may_audit_ledger(actor) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The latest signed checkpoint, signing one first if the log grew.
    pub async fn ledger_latest_checkpoint(&self, actor: &Actor) -> Result<String, AppError> {
        self.ledger_reader(actor)?;
        self.ledger_checkpoint().await
    }

    /// The verifier key, for an auditor.
    pub async fn ledger_key(&self, actor: &Actor) -> Result<String, AppError> {
        self.ledger_reader(actor)?;
        self.ledger_vkey().await
    }

    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn ledger_inclusion_proof(
        &self,
        actor: &Actor,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, AppError> {
        self.ledger_reader(actor)?;
        let stored = repo::size(&self.db.conn).await?;
        if size > stored {
            return Err(bad(
                "size",
                "树大小超过日志",
                format!("size {size} exceeds the log's {stored} leaves"),
            ));
        }
        if index >= size {
            return Err(bad(
                "index",
                "叶序号超出树大小",
                format!("index {index} is not below size {size}"),
            ));
        }
        let plan = inclusion_plan(index, size).map_err(internal)?;
        let store = repo::prefetch_plan(&self.db.conn, stored, &plan).await?;
        plan.fetch(&store).map_err(internal)
    }

    /// RFC 9162 consistency proof from the tree of `old` leaves to `size`.
    pub async fn ledger_consistency_proof(
        &self,
        actor: &Actor,
        old: u64,
        size: u64,
    ) -> Result<Vec<Hash>, AppError> {
        self.ledger_reader(actor)?;
        self.ledger_consistency(old, size).await
    }

    /// The consistency proof without a reader check, for the federation push.
    pub(crate) async fn ledger_consistency(
        &self,
        old: u64,
        size: u64,
    ) -> Result<Vec<Hash>, AppError> {
        let stored = repo::size(&self.db.conn).await?;
        if size > stored {
            return Err(bad(
                "size",
                "树大小超过日志",
                format!("size {size} exceeds the log's {stored} leaves"),
            ));
        }
        if old > size {
            return Err(bad(
                "old",
                "旧树大小大于新树大小",
                format!("old {old} exceeds size {size}"),
            ));
        }
        let plan = consistency_plan(old, size).map_err(internal)?;
        let store = repo::prefetch_plan(&self.db.conn, stored, &plan).await?;
        plan.fetch(&store).map_err(internal)
    }

    /// Leaf `index`, with its event when the actor may see the member.
    pub async fn ledger_entry(&self, actor: &Actor, index: u64) -> Result<LedgerEntry, AppError> {
        self.ledger_reader(actor)?;
        let row = repo::leaf(&self.db.conn, index)
            .await?
            .ok_or(AppError::NotFound("ledger entry"))?;
        let leaf = ArchiveLeaf::decode(&row.leaf).map_err(internal)?;
        let mut event = None;
        if let Some(eid) = row.member_event_id
            && let Some(ev) = member_event::Entity::find_by_id(eid)
                .one(&self.db.conn)
                .await?
            && let Some(o) = orepo::get(&self.db.conn, ev.org_id).await?
            && actor.can_list_members(&o.path)
        {
            let detail = self.keys.decrypt_str(&ev.detail_enc, AAD_EVENT)?;
            event = Some(LedgerEvent {
                record_id: ev.id,
                member_id: ev.member_id,
                org_id: ev.org_id,
                kind: ev.kind,
                at: ev.at,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(LedgerEntry {
            index,
            leaf: B64.encode(&row.leaf),
            event_type: leaf.event_type().to_string(),
            at_unix_ms: leaf.at_unix_ms(),
            event,
        })
    }

    /// A tlog-tiles resource below `/ledger/`: `tile/<L>/<N>[.p/<W>]` (hash
    /// tile) or `tile/entries/<N>[.p/<W>]` (entry bundle). `NotFound` when
    /// the path is malformed or beyond the stored log.
    pub async fn ledger_tile(&self, actor: &Actor, path: &str) -> Result<Vec<u8>, AppError> {
        self.ledger_reader(actor)?;
        let c = &self.db.conn;
        let size = repo::size(c).await?;
        if path.starts_with("tile/entries/") {
            let id = EntryBundleId::parse_path(path).map_err(|_| AppError::NotFound("tile"))?;
            let range = id.leaves();
            if id.width == 0 || range.end > size {
                return Err(AppError::NotFound("tile"));
            }
            let rows = repo::leaves(c, range.start, range.end).await?;
            if rows.len() as u64 != range.end - range.start {
                return Err(internal("entry bundle has missing leaves"));
            }
            return encode_entry_bundle(rows.iter().map(|r| &r.leaf)).map_err(internal);
        }
        let id = TileId::parse_path(path).map_err(|_| AppError::NotFound("tile"))?;
        let ids: Vec<_> = id.nodes().collect();
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Err(AppError::NotFound("tile"));
        };
        // The tile exists when its last node is complete in the stored tree.
        let complete = (u128::from(last.index) + 1) << last.level <= u128::from(size);
        if !complete {
            return Err(AppError::NotFound("tile"));
        }
        let rows = repo::node_range(c, first.level, first.index, last.index + 1).await?;
        if rows.len() != ids.len() {
            return Err(internal("tile has missing nodes"));
        }
        Ok(rows.into_iter().flat_map(|(_, h)| h).collect())
    }

    /// Whether member `id`'s archive history verifies against the latest
    /// signed checkpoint: each event re-derived to its leaf, each leaf's
    /// inclusion proof checked with the independent verifier. `NotFound`
    /// outside the actor's reach.
    pub async fn ledger_member_status(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<MemberLedgerStatus, AppError> {
        let c = &self.db.conn;
        let m = member::Entity::find_by_id(id)
            .one(c)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(c, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if actor.member_id != Some(m.id) && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        let key = self.ledger_commitment_key()?;
        let verifier = self.ledger_signer().await?.verifier();
        let checkpoint = match repo::latest_checkpoint(c).await? {
            Some(cp) => Some(Checkpoint::open(&cp.note, &verifier).map_err(internal)?.0),
            None => None,
        };
        let cp_size = checkpoint.as_ref().map_or(0, |cp| cp.size());
        let stored = repo::size(c).await?;
        let leaves = repo::member_leaves(c, m.id).await?;
        let events = member_event::Entity::find()
            .filter(member_event::Column::MemberId.eq(m.id))
            .order_by_asc(member_event::Column::Id)
            .all(c)
            .await?;
        let mut out = Vec::with_capacity(events.len());
        for ev in events {
            let leaf = leaves.iter().find(|l| l.member_event_id == Some(ev.id));
            let status = match leaf {
                None => "unlogged",
                Some(l) => {
                    let same = self
                        .keys
                        .decrypt(&ev.detail_enc, AAD_EVENT)
                        .ok()
                        .and_then(|d| leaf_of(&key, &ev, &m, &d, &l.member_digest).ok())
                        .is_some_and(|leaf| leaf.encode() == l.leaf);
                    let index = l.leaf_index as u64;
                    if !same {
                        "mismatch"
                    } else if index >= cp_size {
                        "pending"
                    } else {
                        let plan = inclusion_plan(index, cp_size).map_err(internal)?;
                        let store = repo::prefetch_plan(c, stored, &plan).await?;
                        let proof = plan.fetch(&store).map_err(internal)?;
                        let root = checkpoint.as_ref().map(|cp| *cp.root()).unwrap_or_default();
                        if dangjian_ledger::verify_inclusion(
                            &leaf_hash(&l.leaf),
                            index,
                            cp_size,
                            &proof,
                            &root,
                        )
                        .is_ok()
                        {
                            "verified"
                        } else {
                            "not_included"
                        }
                    }
                }
            };
            out.push(MemberLedgerEvent {
                record_id: ev.id,
                kind: ev.kind,
                leaf_index: leaf.map(|l| l.leaf_index as u64),
                status,
            });
        }
        let row_matches = leaves
            .iter()
            .max_by_key(|l| l.leaf_index)
            .is_some_and(|l| member_digest(&key, &m).as_slice() == l.member_digest.as_slice());
        Ok(MemberLedgerStatus {
            verified: row_matches && !out.is_empty() && out.iter().all(|e| e.status == "verified"),
            checkpoint_size: cp_size,
            events: out,
            row_matches,
        })
    }

    /// `dangjian ledger verify`: rebuilds the tree from the stored leaves and
    /// compares it with the stored nodes, checks every checkpoint's signature
    /// and the consistency between consecutive checkpoints, and re-derives
    /// every leaf from the `member_events` and `members` rows.
    pub async fn ledger_verify(&self) -> Result<LedgerReport, AppError> {
        self.ledger_verify_with(true).await
    }

    /// The cheap part of [`App::ledger_verify`], for the server to run at
    /// start and on a schedule: the stored tree against its leaves, and the
    /// signed checkpoints; no decryption of the archive.
    pub async fn ledger_verify_log(&self) -> Result<LedgerReport, AppError> {
        self.ledger_verify_with(false).await
    }

    async fn ledger_verify_with(&self, full: bool) -> Result<LedgerReport, AppError> {
        let c = &self.db.conn;
        let key = self.ledger_commitment_key()?;
        let mut problems = Vec::new();
        let mut p = |code, record: Option<String>, leaf_index, message: String| {
            problems.push(LedgerProblem {
                code,
                record,
                leaf_index,
                message,
            })
        };

        // 1. Leaves, in index order, into a tree rebuilt in memory.
        let size = repo::size(c).await?;
        let mut tree = MemoryStore::new();
        // event id → (leaf index, leaf bytes, member digest)
        let mut by_event: HashMap<i64, (u64, Vec<u8>, Vec<u8>)> = HashMap::new();
        // member id → (latest leaf index, member digest)
        let mut last_of_member: HashMap<i64, (u64, Vec<u8>)> = HashMap::new();
        let mut expect = 0u64;
        while expect < size {
            let rows = repo::leaves(c, expect, expect.saturating_add(PAGE).min(size)).await?;
            let end = expect.saturating_add(PAGE).min(size);
            let mut got = rows.into_iter().peekable();
            for i in expect..end {
                match got.next_if(|r| r.leaf_index as u64 == i) {
                    Some(r) => {
                        tree.push(leaf_hash(&r.leaf));
                        if let Some(eid) = r.member_event_id {
                            by_event.insert(eid, (i, r.leaf.clone(), r.member_digest.clone()));
                        }
                        if let Some(mid) = r.member_id {
                            last_of_member.insert(mid, (i, r.member_digest));
                        }
                    }
                    None => {
                        p(
                            "leaf_gap",
                            None,
                            Some(i),
                            format!("leaf {i} is missing from ledger_leaves"),
                        );
                        tree.push([0; 32]);
                    }
                }
            }
            expect = end;
        }

        // 2. Stored nodes against the rebuilt tree.
        let mut after = None;
        let mut stored_nodes = 0u64;
        loop {
            let page = repo::node_page(c, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.0);
            for (id, hash) in &page {
                stored_nodes += 1;
                match tree.node(id.level, id.index).map_err(internal)? {
                    Some(h) if h.as_slice() == hash.as_slice() => {}
                    Some(_) => p(
                        "node_mismatch",
                        Some(format!("ledger_nodes#{}/{}", id.level, id.index)),
                        (id.level == 0).then_some(id.index),
                        format!(
                            "stored node ({}, {}) differs from the tree rebuilt from the leaves",
                            id.level, id.index
                        ),
                    ),
                    None => p(
                        "node_unexpected",
                        Some(format!("ledger_nodes#{}/{}", id.level, id.index)),
                        None,
                        format!("stored node ({}, {}) is beyond the log", id.level, id.index),
                    ),
                }
            }
        }
        let expected_nodes: u64 = (0..64).map(|l| size >> l).sum();
        if stored_nodes < expected_nodes {
            p(
                "node_missing",
                None,
                None,
                format!("{expected_nodes} complete nodes expected, {stored_nodes} stored"),
            );
        }

        // 3. Checkpoints: signature, root, consistency with the previous one.
        let verifier: Verifier = self.ledger_signer().await?.verifier();
        let cps = repo::checkpoints(c).await?;
        let mut prev: Option<(u64, Hash)> = None;
        for cp in &cps {
            let record = Some(format!("ledger_checkpoints#{}", cp.size));
            let opened = match Checkpoint::open(&cp.note, &verifier) {
                Ok((checkpoint, _, _)) => checkpoint,
                Err(e) => {
                    p(
                        "checkpoint_signature",
                        record,
                        None,
                        format!("checkpoint of size {}: {e}", cp.size),
                    );
                    continue;
                }
            };
            let (n, root) = (opened.size(), *opened.root());
            if n != cp.size as u64 || root.as_slice() != cp.root.as_slice() {
                p(
                    "checkpoint_root",
                    record.clone(),
                    None,
                    format!("checkpoint row {} disagrees with its signed note", cp.size),
                );
            }
            if n > size {
                p(
                    "checkpoint_beyond_log",
                    record,
                    None,
                    format!("signed checkpoint of size {n} but the log holds {size} leaves"),
                );
                continue;
            }
            if tree.root_at(n).map_err(internal)? != root {
                p(
                    "checkpoint_root",
                    record.clone(),
                    None,
                    format!("the rebuilt tree of size {n} has another root than its checkpoint"),
                );
            }
            if let Some((m, old_root)) = prev {
                let proof = tree.consistency_proof(m, n).map_err(internal)?;
                if verify_consistency(m, n, &old_root, &root, &proof).is_err() {
                    p(
                        "checkpoint_inconsistent",
                        record,
                        None,
                        format!("checkpoints of sizes {m} and {n} are not consistent"),
                    );
                }
            }
            prev = Some((n, root));
        }

        // 4. Every event re-derived from its rows.
        let mut after_id = i64::MIN;
        loop {
            if !full {
                break;
            }
            let events = member_event::Entity::find()
                .filter(member_event::Column::Id.gt(after_id))
                .order_by_asc(member_event::Column::Id)
                .limit(PAGE)
                .all(c)
                .await?;
            let Some(last) = events.last() else { break };
            after_id = last.id;
            let mut mids: Vec<i64> = events.iter().map(|e| e.member_id).collect();
            mids.sort_unstable();
            mids.dedup();
            let members = members_by_id(c, &mids).await?;
            for ev in &events {
                let record = Some(format!("member_events#{}", ev.id));
                let Some((index, stored, digest)) = by_event.remove(&ev.id) else {
                    p(
                        "record_added",
                        record,
                        None,
                        format!(
                            "member_events row {} (member {}) has no leaf: added behind the application's back",
                            ev.id, ev.member_id
                        ),
                    );
                    continue;
                };
                let Some(m) = members.get(&ev.member_id) else {
                    p(
                        "member_deleted",
                        Some(format!("members#{}", ev.member_id)),
                        Some(index),
                        format!(
                            "member {} of member_events row {} (leaf {index}) is missing",
                            ev.member_id, ev.id
                        ),
                    );
                    continue;
                };
                let same = self
                    .keys
                    .decrypt(&ev.detail_enc, AAD_EVENT)
                    .ok()
                    .and_then(|detail| leaf_of(&key, ev, m, &detail, &digest).ok())
                    .is_some_and(|leaf| leaf.encode() == stored);
                if !same {
                    p(
                        "record_edited",
                        record,
                        Some(index),
                        format!(
                            "member_events row {} no longer matches leaf {index}: edited behind the application's back",
                            ev.id
                        ),
                    );
                }
            }
        }
        if !full {
            by_event.clear();
            last_of_member.clear();
        }
        let mut gone: Vec<_> = by_event.into_iter().collect();
        gone.sort_by_key(|(_, (i, _, _))| *i);
        for (eid, (index, _, _)) in gone {
            p(
                "record_deleted",
                Some(format!("member_events#{eid}")),
                Some(index),
                format!("member_events row {eid} of leaf {index} was deleted"),
            );
        }

        // 5. Every member row against the digest of its latest leaf.
        let mut after_id = i64::MIN;
        loop {
            if !full {
                break;
            }
            let rows = member::Entity::find()
                .filter(member::Column::Id.gt(after_id))
                .order_by_asc(member::Column::Id)
                .limit(PAGE)
                .all(c)
                .await?;
            let Some(last) = rows.last() else { break };
            after_id = last.id;
            for m in &rows {
                let record = Some(format!("members#{}", m.id));
                match last_of_member.remove(&m.id) {
                    None => p(
                        "member_added",
                        record,
                        None,
                        format!(
                            "members row {} has no archive leaf: added behind the application's back",
                            m.id
                        ),
                    ),
                    Some((index, digest)) => {
                        if member_digest(&key, m).as_slice() != digest.as_slice() {
                            p(
                                "member_edited",
                                record,
                                Some(index),
                                format!(
                                    "members row {} differs from its state at leaf {index}: edited behind the application's back",
                                    m.id
                                ),
                            );
                        }
                    }
                }
            }
        }
        let mut gone: Vec<_> = last_of_member.into_iter().collect();
        gone.sort_by_key(|(_, (i, _))| *i);
        for (mid, (index, _)) in gone {
            p(
                "member_deleted",
                Some(format!("members#{mid}")),
                Some(index),
                format!("members row {mid} (latest leaf {index}) was deleted"),
            );
        }

        let root = tree.root_at(tree.size()).map_err(internal)?;
        Ok(LedgerReport {
            ok: problems.is_empty(),
            size,
            root: hex::encode(root),
            checkpoints: cps.len(),
            problems,
        })
    }
}
