//! The roster import's pipeline (issue 2): a preparing thread parses,
//! validates, encrypts and builds the statements of chunks of rows while the
//! calling task writes the previous chunk, all in one transaction.
//!
//! The preparing thread ([`Preparer`]) reads the file row by row
//! (`dangjian_roster::RowSource`) and, per row, does what `roster` always
//! did — cell parsing (`dangjian_roster::row_to_draft`), `validate_member`,
//! the blind index and the duplicate-in-file check — then, as long as no error
//! has been found anywhere, builds the member row (ID number and phone
//! encrypted), its `registered` event and the event's archive ledger leaf
//! with the nodes it completes. Those need the ids of the rows, so ids are
//! reserved rather than read back: on SQLite the writer holds the write lock
//! (`BEGIN IMMEDIATE`), so the next free ids are known and counted on; on
//! PostgreSQL they come from the tables' sequences, a block per chunk sent
//! ahead by the writer. The ledger's right edge (`Frontier`) moves to the
//! thread, loaded under the append lock of the writer's transaction.
//!
//! The writer ([`App::import_rows`]) checks each chunk's people against the
//! stored active registrations (DOMAIN.md §3) inside its transaction — one
//! query per 500 rows, or in bulk mode (`Tuning::bulk_rows` rows or more) a
//! single scan of every active blind index — and executes the chunk's
//! statements. After the first error it writes nothing more, but keeps
//! receiving chunks so every error of the file is listed; the transaction is
//! then dropped, so nothing is stored (all or nothing, issue 2). In bulk mode
//! on SQLite, when the import at least doubles the member table, the two
//! blind-index indexes are dropped at the start and rebuilt before commit,
//! inside the same transaction (a rollback restores them).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::members::validate_member;
use dangjian_domain::warnings::MemberFacts;
use dangjian_ledger::{Frontier, StoredNode};
use dangjian_roster::{Cells, RowError, RowSource, column_of, row_to_draft};
use dangjian_store::entities::{ledger_leaf, ledger_node, member, member_event, org};
use dangjian_store::repo::bulk::{self, Planner};
use dangjian_store::repo::{audit, members as repo};
use dangjian_store::{Backend, Keyring};
use sea_orm::{DbBackend, Statement, Value};
use tokio::sync::mpsc;

use crate::members::{AAD_EVENT, BIDX_ID, member_model, registered_detail};
use crate::roster::{ImportReport, Progress};
use crate::{Actor, App, AppError};

/// Sizes of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Rows of the file per chunk.
    pub chunk_rows: usize,
    /// From this many rows on, the import runs in bulk mode: one scan of the
    /// stored blind indexes and, on SQLite, indexes rebuilt after the load.
    pub bulk_rows: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            chunk_rows: 2_000,
            bulk_rows: 20_000,
        }
    }
}

/// Ids of the rows a chunk writes.
pub(crate) struct IdBlock {
    members: Vec<i64>,
    events: Vec<i64>,
}

/// Where the preparing thread takes ids from.
enum Ids {
    /// SQLite: counted up from the first free id (the writer holds the lock).
    Next { member: i64, event: i64 },
    /// PostgreSQL: blocks of sequence values sent by the writer.
    Blocks {
        rx: mpsc::UnboundedReceiver<IdBlock>,
        block: IdBlock,
        used: usize,
    },
}

impl Ids {
    /// Ids of the next member and its event; `None` when the writer is gone.
    fn take(&mut self) -> Option<(i64, i64)> {
        match self {
            Ids::Next { member, event } => {
                let ids = (*member, *event);
                *member += 1;
                *event += 1;
                Some(ids)
            }
            Ids::Blocks { rx, block, used } => {
                if *used >= block.members.len().min(block.events.len()) {
                    *block = rx.blocking_recv()?;
                    *used = 0;
                }
                let ids = (*block.members.get(*used)?, *block.events.get(*used)?);
                *used += 1;
                Some(ids)
            }
        }
    }
}

/// What the preparing thread sends.
pub(crate) enum Msg {
    Chunk(Chunk),
    /// The file is read to its end; `rows` data rows (blank ones included).
    Done {
        rows: usize,
    },
    /// The file cannot be read, or preparing a row failed.
    Fail(AppError),
}

/// One prepared chunk of the file.
pub(crate) struct Chunk {
    /// Data rows read so far, this chunk included.
    read: usize,
    /// Errors found in this chunk's rows (cells, validation, same person
    /// twice in the file).
    errors: Vec<RowError>,
    /// Line and blind index of each row that passed, for the check against
    /// the stored registrations.
    people: Vec<(usize, String)>,
    /// The inserts of members, events, leaves and nodes, in that order;
    /// empty once the import has failed.
    statements: Vec<Statement>,
    /// The rules' facts of the members written.
    facts: Vec<MemberFacts>,
    /// Rows the statements write: all of `people`, or none once the import
    /// has failed.
    built: usize,
}

/// The preparing side: everything it needs, owned, so it runs on its own
/// thread.
pub(crate) struct Preparer {
    pub(crate) rows: RowSource,
    pub(crate) map: HashMap<&'static str, usize>,
    pub(crate) headers: Vec<String>,
    pub(crate) keys: Arc<Keyring>,
    pub(crate) today: NaiveDate,
    pub(crate) now: DateTime<Utc>,
    pub(crate) org_id: i64,
    pub(crate) actor_id: Option<i64>,
    pub(crate) backend: DbBackend,
    pub(crate) chunk_rows: usize,
    /// Set by the writer when it found an error (a stored duplicate): stop
    /// building rows, keep validating.
    pub(crate) failed: Arc<AtomicBool>,
}

struct Ledger {
    key: [u8; 32],
    frontier: Frontier,
}

impl Preparer {
    /// Reads and prepares the whole file, sending chunks to `out`; returns
    /// when the file ends, on the first unreadable row, or when the writer
    /// stops listening.
    fn run(mut self, mut ids: Ids, mut ledger: Ledger, out: mpsc::Sender<Msg>) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut planner = Planner::new(self.backend);
        let mut index = 0usize;
        let mut any_error = false;
        loop {
            let mut chunk = Chunk {
                read: 0,
                errors: Vec::new(),
                people: Vec::new(),
                statements: Vec::new(),
                facts: Vec::new(),
                built: 0,
            };
            let mut members = Vec::with_capacity(self.chunk_rows);
            let mut events = Vec::with_capacity(self.chunk_rows);
            let mut leaves = Vec::with_capacity(self.chunk_rows);
            let mut nodes: Vec<StoredNode> = Vec::with_capacity(self.chunk_rows * 2);
            let mut ended = false;
            for _ in 0..self.chunk_rows {
                let row = match self.rows.next(index) {
                    None => {
                        ended = true;
                        break;
                    }
                    Some(Err(e)) => {
                        let _ = out.blocking_send(Msg::Fail(e.into()));
                        return;
                    }
                    Some(Ok(r)) => r,
                };
                let line = index + 2;
                index += 1;
                if row.is_blank() {
                    continue;
                }
                let before = chunk.errors.len();
                let draft = row_to_draft(&self.map, &row, line, &self.headers, &mut chunk.errors);
                let v = match validate_member(&draft, self.today) {
                    Ok(v) => v,
                    Err(ve) => {
                        for fe in ve.0 {
                            let base = fe.field.split('.').next_back().unwrap_or(&fe.field);
                            chunk.errors.push(RowError {
                                row: line,
                                column: column_of(&self.map, &self.headers, base),
                                field: fe.field,
                                code: fe.code.into(),
                                message_zh: fe.message_zh,
                                message_en: fe.message_en,
                            });
                        }
                        continue;
                    }
                };
                let bidx = self.keys.blind_index(BIDX_ID, v.id.as_str());
                match seen.get(&bidx) {
                    Some(&first) => {
                        chunk.errors.push(RowError {
                            row: line,
                            column: column_of(&self.map, &self.headers, "id_number"),
                            field: "id_number".into(),
                            code: "duplicate_in_file".into(),
                            message_zh: format!("与第 {first} 行是同一人"),
                            message_en: format!("same person as line {first}"),
                        });
                        continue;
                    }
                    None => {
                        seen.insert(bidx.clone(), line);
                    }
                }
                if chunk.errors.len() != before {
                    continue;
                }
                any_error |= !chunk.errors.is_empty();
                if any_error || self.failed.load(Ordering::Relaxed) {
                    chunk.people.push((line, bidx));
                    continue;
                }
                // No more ids: the writer found an error and stopped sending.
                let Some((member_id, event_id)) = ids.take() else {
                    self.failed.store(true, Ordering::Relaxed);
                    chunk.people.push((line, bidx));
                    continue;
                };
                let built = self.build(&v, member_id, event_id, bidx.clone(), &ledger);
                let (m, ev, leaf) = match built {
                    Ok(x) => x,
                    Err(e) => {
                        let _ = out.blocking_send(Msg::Fail(e));
                        return;
                    }
                };
                ledger.frontier.append_into(leaf.1, &mut nodes);
                chunk.facts.push(crate::warnings::member_facts(
                    member_id,
                    v.stage.as_str(),
                    &v.stage_dates,
                ));
                chunk.people.push((line, bidx));
                chunk.built += 1;
                members.push(member::ActiveModel::from(m));
                events.push(member_event::ActiveModel::from(ev));
                leaves.push(leaf.0);
            }
            any_error |= !chunk.errors.is_empty();
            chunk.read = index;
            if !any_error && !self.failed.load(Ordering::Relaxed) {
                match self.statements(&mut planner, members, events, leaves, nodes) {
                    Ok(s) => chunk.statements = s,
                    Err(e) => {
                        let _ = out.blocking_send(Msg::Fail(e));
                        return;
                    }
                }
            } else {
                chunk.facts.clear();
                chunk.built = 0;
            }
            if out.blocking_send(Msg::Chunk(chunk)).is_err() {
                return;
            }
            if ended {
                let _ = out.blocking_send(Msg::Done { rows: index });
                return;
            }
        }
    }

    /// The member row, its event and the event's leaf (with its hash).
    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        v: &dangjian_domain::members::ValidMember,
        member_id: i64,
        event_id: i64,
        bidx: String,
        ledger: &Ledger,
    ) -> Result<
        (
            member::Model,
            member_event::Model,
            (ledger_leaf::ActiveModel, dangjian_ledger::Hash),
        ),
        AppError,
    > {
        let m = member_model(&self.keys, v, member_id, bidx, self.org_id, self.now)?;
        let detail = registered_detail(v, "import");
        let ev = member_event::Model {
            id: event_id,
            member_id,
            org_id: self.org_id,
            at: self.now,
            kind: "registered".into(),
            actor_user_id: self.actor_id,
            detail_enc: self.keys.encrypt(detail.as_bytes(), AAD_EVENT)?,
        };
        let (leaf, digest) =
            crate::ledger::leaf_in_memory(&ledger.key, &ev, &m, detail.as_bytes())?;
        let row = ledger_leaf::ActiveModel {
            leaf_index: sea_orm::Set(ledger.frontier.size() as i64),
            leaf: sea_orm::Set(leaf.encode()),
            member_event_id: sea_orm::Set(Some(event_id)),
            member_id: sea_orm::Set(Some(member_id)),
            member_digest: sea_orm::Set(digest.to_vec()),
        };
        Ok((m, ev, (row, leaf.leaf_hash())))
    }

    /// The chunk's inserts; the organization, times, status and kind are
    /// shared columns, bound once per statement.
    fn statements(
        &self,
        planner: &mut Planner,
        members: Vec<member::ActiveModel>,
        events: Vec<member_event::ActiveModel>,
        leaves: Vec<ledger_leaf::ActiveModel>,
        nodes: Vec<StoredNode>,
    ) -> Result<Vec<Statement>, AppError> {
        let now = Value::from(self.now);
        let mut out = planner.insert(
            vec![
                (member::Column::OrgId, Value::from(self.org_id)),
                (member::Column::GroupId, Value::BigInt(None)),
                (member::Column::Status, Value::from("active")),
                (member::Column::CreatedAt, now.clone()),
                (member::Column::UpdatedAt, now.clone()),
            ],
            members,
        )?;
        out.extend(planner.insert(
            vec![
                (member_event::Column::OrgId, Value::from(self.org_id)),
                (member_event::Column::At, now),
                (member_event::Column::Kind, Value::from("registered")),
                (
                    member_event::Column::ActorUserId,
                    Value::BigInt(self.actor_id),
                ),
            ],
            events,
        )?);
        out.extend(planner.insert(Vec::new(), leaves)?);
        let nodes = nodes
            .into_iter()
            .map(|n| ledger_node::ActiveModel {
                level: sea_orm::Set(i32::from(n.id.level)),
                idx: sea_orm::Set(n.id.index as i64),
                hash: sea_orm::Set(n.hash.to_vec()),
            })
            .collect();
        out.extend(planner.insert(Vec::new(), nodes)?);
        Ok(out)
    }
}

impl App {
    /// Runs the pipeline over `rows` for the branch `o`; see the module
    /// documentation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn import_rows(
        &self,
        actor: &Actor,
        o: &org::Model,
        rows: RowSource,
        map: HashMap<&'static str, usize>,
        headers: Vec<String>,
        estimate: usize,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ImportReport, AppError> {
        let tuning = self.config.roster_import;
        let chunk_rows = tuning.chunk_rows.max(1);
        let now = self.clock.now();
        let id_column = column_of(&map, &headers, "id_number");
        let (_writer, tx) = self.begin_write().await?;
        let (key, frontier) = self.ledger_appender(&tx).await?.into_parts();
        let backend = self.db.backend;
        let bulk = estimate >= tuning.bulk_rows;
        // The stored people, read once in bulk mode.
        let stored: Option<HashSet<String>> = if bulk {
            Some(repo::all_active_bidx(&tx).await?)
        } else {
            None
        };
        let suspended = if bulk && backend == Backend::Sqlite {
            let existing = repo::count_all(&tx).await?;
            if estimate as u64 >= existing {
                Some(bulk::suspend_indexes(&tx, repo::BIDX_INDEXES).await?)
            } else {
                None
            }
        } else {
            None
        };
        let (ids, mut id_tx) = match backend {
            Backend::Sqlite => (
                Ids::Next {
                    member: bulk::first_free_id(&tx, "members").await?,
                    event: bulk::first_free_id(&tx, "member_events").await?,
                },
                None,
            ),
            Backend::Postgres => {
                let (id_tx, rx) = mpsc::unbounded_channel();
                for _ in 0..2 {
                    let _ = id_tx.send(self.id_block(&tx, chunk_rows).await?);
                }
                (
                    Ids::Blocks {
                        rx,
                        block: IdBlock {
                            members: Vec::new(),
                            events: Vec::new(),
                        },
                        used: 0,
                    },
                    Some(id_tx),
                )
            }
        };
        let failed = Arc::new(AtomicBool::new(false));
        let preparer = Preparer {
            rows,
            map,
            headers,
            keys: self.keys.clone(),
            today: self.today(),
            now,
            org_id: o.id,
            actor_id: actor.audit_id(),
            backend: match backend {
                Backend::Sqlite => DbBackend::Sqlite,
                Backend::Postgres => DbBackend::Postgres,
            },
            chunk_rows,
            failed: failed.clone(),
        };
        let (out, mut rx) = mpsc::channel(2);
        let ledger = Ledger { key, frontier };
        std::thread::Builder::new()
            .name("roster-prepare".into())
            .spawn(move || preparer.run(ids, ledger, out))
            .map_err(|e| AppError::Internal(format!("roster import thread: {e}")))?;

        let mut errors: Vec<RowError> = Vec::new();
        let mut facts = Vec::new();
        let mut written = 0usize;
        let total = loop {
            let chunk = match rx.recv().await {
                Some(Msg::Chunk(c)) => c,
                Some(Msg::Done { rows }) => break rows,
                Some(Msg::Fail(e)) => return Err(e),
                None => {
                    return Err(AppError::Internal(
                        "roster import: the preparing thread stopped".into(),
                    ));
                }
            };
            let est = estimate.max(chunk.read);
            progress(Progress::Validated(chunk.read, est));
            if let Some(ids) = &id_tx {
                let _ = ids.send(self.id_block(&tx, chunk_rows).await?);
            }
            errors.extend(chunk.errors);
            // Already registered anywhere in the tree (DOMAIN.md §3); the
            // other organization is never named here.
            let taken: Vec<usize> = match &stored {
                Some(set) => chunk
                    .people
                    .iter()
                    .filter(|(_, b)| set.contains(b))
                    .map(|(l, _)| *l)
                    .collect(),
                None => {
                    let by_bidx: HashMap<&str, usize> =
                        chunk.people.iter().map(|(l, b)| (b.as_str(), *l)).collect();
                    let mut lines = Vec::new();
                    for part in chunk.people.chunks(500) {
                        let keys: Vec<String> = part.iter().map(|(_, b)| b.clone()).collect();
                        for b in repo::active_bidx_in(&tx, &keys).await? {
                            lines.push(by_bidx.get(b.as_str()).copied().unwrap_or(0));
                        }
                    }
                    lines.sort_unstable();
                    lines
                }
            };
            errors.extend(taken.into_iter().map(|line| RowError {
                row: line,
                column: id_column.clone(),
                field: "id_number".into(),
                code: "duplicate_person".into(),
                message_zh: "此人已在本系统登记为在册人员（DOMAIN.md §3）".into(),
                message_en: "this person already has an active registration (DOMAIN.md §3)".into(),
            }));
            if !errors.is_empty() || chunk.built != chunk.people.len() {
                failed.store(true, Ordering::Relaxed);
                // Nothing more is written; the preparing thread stops at
                // the end of its id block instead of waiting for another.
                id_tx = None;
                if errors.is_empty() {
                    return Err(AppError::Internal(
                        "roster import: a chunk was not prepared in full".into(),
                    ));
                }
                continue;
            }
            bulk::execute(&tx, chunk.statements).await.map_err(|e| {
                if e.to_string().to_lowercase().contains("unique") {
                    crate::members::duplicate_conflict(actor, None)
                } else {
                    e.into()
                }
            })?;
            written += chunk.built;
            facts.extend(chunk.facts);
            progress(Progress::Written(written, est));
        };
        progress(Progress::Validated(total, total));
        if !errors.is_empty() {
            // Dropping the transaction rolls back every chunk written (and
            // restores suspended indexes).
            drop(tx);
            errors.sort_by_key(|e| e.row);
            return Ok(ImportReport {
                rows: total,
                imported: 0,
                errors,
            });
        }
        if let Some(s) = suspended {
            bulk::restore_indexes(&tx, s).await?;
        }
        self.rules_after_member_write(&tx, o, &facts).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "roster.import".into(),
                target_kind: "org".into(),
                target_id: Some(o.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"rows": written}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        progress(Progress::Written(written, written));
        Ok(ImportReport {
            rows: total,
            imported: written,
            errors: Vec::new(),
        })
    }

    /// PostgreSQL: ids for one chunk's members and events.
    async fn id_block<C: sea_orm::ConnectionTrait>(
        &self,
        c: &C,
        n: usize,
    ) -> Result<IdBlock, AppError> {
        Ok(IdBlock {
            members: bulk::sequence_ids(c, "members", n).await?,
            events: bulk::sequence_ids(c, "member_events", n).await?,
        })
    }
}
