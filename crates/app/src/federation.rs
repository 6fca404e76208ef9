//! Federation across levels (issue 4 §5): every server is a witness for the
//! servers below it and a log for the one above.
//!
//! As a witness, a server keeps the child logs it knows (origin and verifier
//! key, registered by an administrator) and answers the C2SP tlog-witness
//! `add-checkpoint` request: it cosigns a child's checkpoint only if it
//! extends the last one it cosigned for that child, and stores every
//! checkpoint it cosigned. A child that forks or rewrites its history is
//! refused from then on.
//!
//! As a log, a server configured with its parent's witness URL and key
//! pushes its latest checkpoint with the consistency proof from the size the
//! parent last cosigned, checks the returned cosignature and stores the
//! cosigned checkpoint. A chain county → city → province works the same at
//! each hop.
//!
//! The witness key is its own Ed25519 key (`witness.key` next to the ledger
//! key, or derived from the keyring), named `<origin>/witness`.
//!
//! Joining twice across servers (issue 4 §6, DOMAIN.md §3): with a
//! federation key shared by the servers of a province (`federation_key`),
//! each server sends its parent HMAC digests of its active members' ID
//! numbers — never the numbers — as a note signed with its log key. The
//! parent keeps each child's latest set beside its own and answers which of
//! the child's digests are also active elsewhere; the child raises a red
//! `duplicate_registration` warning on each such member. Both sides learn of
//! the duplicate at their next sync, and neither learns where the other
//! registration is. A holder of the federation key could test guessed ID
//! numbers against digests, so the key stays on the servers.

use std::time::Duration;

use dangjian_ledger::witness::{
    AddCheckpoint, Refusal, Witnessed, attach_cosignature, check, cosign_response, origin_of,
};
use dangjian_ledger::{Checkpoint, Cosigner, Verifier, note::KeyType};
use dangjian_store::repo::federation as repo;
use ed25519_dalek::SigningKey;
use serde::Serialize;

use dangjian_domain::warnings::{Finding, Level, RuleId, SubjectKind};
use dangjian_ledger::Note;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ledger::{hex_seed, load_or_create_key};
use crate::members::AAD_ID;
use crate::{Actor, App, AppError};

/// First line of a signed digest list.
const DIGESTS_HEADER: &str = "dangjian-digests/v1";

const WITNESS_DOMAIN: &str = "federation.witness";

/// Why an `add-checkpoint` request got no cosignature.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Refused by the protocol's checks.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The server failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<dangjian_store::StoreError> for WitnessError {
    fn from(e: dangjian_store::StoreError) -> Self {
        WitnessError::App(e.into())
    }
}

/// A child log this server witnesses.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessedLog {
    pub origin: String,
    pub vkey: String,
    /// Size of the last checkpoint cosigned (0: none yet).
    pub size: u64,
    /// That checkpoint with this server's cosignature.
    pub checkpoint: Option<String>,
    /// How many checkpoints were cosigned.
    pub cosigned: usize,
}

/// What a push to the parent did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub witness: String,
    /// The size the parent had cosigned before.
    pub old_size: u64,
    pub size: u64,
    /// The checkpoint with the parent's cosignature.
    pub cosigned_checkpoint: String,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn push_error(zh: &str, en: String) -> AppError {
    AppError::field("parent_url", "federation_push", zh, en)
}

/// A child's leaf checked by its parent against the cosigned checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub origin: String,
    pub index: u64,
    /// The cosigned tree size the proof was checked against.
    pub size: u64,
    pub event_type: String,
    pub at_unix_ms: i64,
    /// The leaf is in the tree the parent cosigned.
    pub included: bool,
}

/// What a digest sync found.
#[derive(Debug, Clone, Serialize)]
pub struct DigestReport {
    /// Active members whose digests were sent.
    pub sent: usize,
    /// Members also active elsewhere (each now has a red warning).
    pub duplicates: Vec<i64>,
}

/// A digest list as the parent reads it.
struct DigestList {
    origin: String,
    at: i64,
    digests: Vec<String>,
}

fn parse_digest_list(text: &str) -> Result<DigestList, AppError> {
    let bad = |m: &str| {
        AppError::field(
            "body",
            "bad_digest_list",
            "摘要清单格式错误",
            format!("malformed digest list: {m}"),
        )
    };
    let mut lines = text.lines();
    if lines.next() != Some(DIGESTS_HEADER) {
        return Err(bad("missing header"));
    }
    let origin = lines.next().ok_or_else(|| bad("no origin"))?.to_string();
    let at = lines
        .next()
        .and_then(|l| l.parse::<i64>().ok())
        .ok_or_else(|| bad("no time"))?;
    let mut digests = Vec::new();
    for l in lines {
        if l.len() != 64
            || !l
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(bad("a digest is not 64 lowercase hex characters"));
        }
        digests.push(l.to_string());
    }
    Ok(DigestList {
        origin,
        at,
        digests,
    })
}

impl App {
    /// The keyed digest of an ID number under the federation key.
    fn federation_digest(&self, key: &[u8], id_number: &str) -> Result<String, AppError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(internal)?;
        mac.update(b"dangjian-federation-id/v1\n");
        mac.update(id_number.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    fn federation_key(&self) -> Result<Vec<u8>, AppError> {
        let k = self.config.federation_key.as_deref().ok_or_else(|| {
            AppError::field(
                "federation_key",
                "not_configured",
                "未配置联邦摘要密钥（federation_key）",
                "no federation key configured (federation_key)",
            )
        })?;
        hex::decode(k.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| {
                AppError::field(
                    "federation_key",
                    "bad_key",
                    "联邦摘要密钥应为 64 个十六进制字符",
                    "the federation key must be 64 hex characters",
                )
            })
    }

    /// Digests of this server's active members: (member id, org id, digest).
    async fn own_digests(&self) -> Result<Vec<(i64, i64, String)>, AppError> {
        let key = self.federation_key()?;
        let rows = dangjian_store::repo::members::active_id_numbers(&self.db.conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, org, enc) in rows {
            let number = self.keys.decrypt_str(&enc, AAD_ID)?;
            out.push((id, org, self.federation_digest(&key, &number)?));
        }
        Ok(out)
    }

    /// Raises (or clears) the duplicate-registration warnings of this
    /// server's active members from the digests found elsewhere.
    async fn reconcile_duplicates(
        &self,
        own: &[(i64, i64, String)],
        shared: &std::collections::HashSet<String>,
    ) -> Result<Vec<i64>, AppError> {
        let subjects: Vec<i64> = own.iter().map(|(id, _, _)| *id).collect();
        let org_of: std::collections::HashMap<i64, i64> =
            own.iter().map(|(id, org, _)| (*id, *org)).collect();
        let dups: Vec<i64> = own
            .iter()
            .filter(|(_, _, d)| shared.contains(d))
            .map(|(id, _, _)| *id)
            .collect();
        let findings: Vec<Finding> = dups
            .iter()
            .map(|id| Finding {
                rule: RuleId::DuplicateRegistration,
                level: Level::Red,
                subject: (SubjectKind::Member, *id),
                period_key: "active".into(),
                detail_zh: "上级组织部门发现此人在另一组织也有在册登记（DOMAIN.md §3）".into(),
                detail_en: "The higher level found this person active in another organization too (DOMAIN.md §3)".into(),
                due: None,
            })
            .collect();
        let (_writer, tx) = self.begin_write().await?;
        crate::warnings::reconcile_subjects(
            &tx,
            SubjectKind::Member,
            &subjects,
            &[RuleId::DuplicateRegistration],
            &findings,
            &|id| org_of.get(&id).copied(),
            self.today(),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(dups)
    }

    /// Stores this server's own digests (under its origin) so the logs it
    /// witnesses are compared with its own members too, and raises the
    /// warnings of its own members found under a child.
    pub async fn federation_refresh_own(&self) -> Result<DigestReport, AppError> {
        let own = self.own_digests().await?;
        let origin = self.ledger_origin().await?;
        let digests: Vec<String> = own.iter().map(|(_, _, d)| d.clone()).collect();
        {
            let (_writer, tx) = self.begin_write().await?;
            repo::replace_digests(&tx, &origin, &digests).await?;
            tx.commit().await?;
        }
        let shared: std::collections::HashSet<String> =
            repo::shared_digests(&self.db.conn, &origin)
                .await?
                .into_iter()
                .collect();
        let duplicates = self.reconcile_duplicates(&own, &shared).await?;
        Ok(DigestReport {
            sent: own.len(),
            duplicates,
        })
    }

    /// The parent's side of a digest sync: checks the child's signature,
    /// refuses a replayed older list, replaces the child's set and answers
    /// which of its digests are also active under another origin.
    pub async fn witness_digests(&self, body: &str) -> Result<Vec<String>, AppError> {
        let note = Note::parse(body).map_err(|e| {
            AppError::field(
                "body",
                "bad_note",
                "不是签名清单",
                format!("not a signed note: {e}"),
            )
        })?;
        let list = parse_digest_list(note.text())?;
        let log = repo::log(&self.db.conn, &list.origin)
            .await?
            .ok_or(AppError::NotFound("witnessed log"))?;
        let verifier = Verifier::from_vkey(&log.vkey).map_err(internal)?;
        if note.verify(&verifier).is_err() {
            return Err(AppError::Unauthorized);
        }
        let (_writer, tx) = self.begin_write().await?;
        if !repo::bump_digests_at(&tx, &list.origin, list.at).await? {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "body",
                "stale_digest_list",
                "摘要清单早于已接收的清单",
                "the digest list is older than one already accepted",
            )));
        }
        repo::replace_digests(&tx, &list.origin, &list.digests).await?;
        let shared = repo::shared_digests(&tx, &list.origin).await?;
        tx.commit().await?;
        Ok(shared)
    }

    /// The child's side: sends the digests of its active members to the
    /// parent (`parent_url`) and raises a red warning on each member the
    /// parent reports active elsewhere.
    pub async fn federation_sync_digests(&self) -> Result<DigestReport, AppError> {
        let Some(url) = &self.config.parent_url else {
            return Err(AppError::field(
                "parent_url",
                "not_configured",
                "未配置上级服务器（parent_url）",
                "no parent configured (parent_url)",
            ));
        };
        let own = self.own_digests().await?;
        let mut text = format!(
            "{DIGESTS_HEADER}\n{}\n{}\n",
            self.ledger_origin().await?,
            self.clock.now().timestamp_millis()
        );
        for (_, _, d) in &own {
            text.push_str(d);
            text.push('\n');
        }
        let mut note = Note::new(text).map_err(internal)?;
        note.sign(&self.ledger_signer().await?).map_err(internal)?;
        let endpoint = format!("{}/digests", url.trim_end_matches('/'));
        let resp = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(internal)?
            .post(&endpoint)
            .header("content-type", "text/plain; charset=utf-8")
            .body(note.to_string())
            .send()
            .await
            .map_err(|e| push_error("无法连接上级服务器", format!("{endpoint}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if status != 200 {
            return Err(push_error(
                "上级服务器拒绝摘要清单",
                format!(
                    "the parent refused the digest list ({status}): {}",
                    text.trim()
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            duplicates: Vec<String>,
        }
        let a: Answer = serde_json::from_str(&text).map_err(|e| {
            push_error(
                "上级服务器应答无效",
                format!("the parent's answer does not parse: {e}"),
            )
        })?;
        let shared: std::collections::HashSet<String> = a.duplicates.into_iter().collect();
        let duplicates = self.reconcile_duplicates(&own, &shared).await?;
        Ok(DigestReport {
            sent: own.len(),
            duplicates,
        })
    }

    /// Cross-level inspection (issue 4 §5): fetches leaf `index` of the
    /// child log `origin` from the child at `url` (with a token of an
    /// auditor there) and checks its inclusion proof against the root this
    /// server cosigned last for that child. Auditors and administrators.
    pub async fn witness_inspect(
        &self,
        actor: &Actor,
        origin: &str,
        url: &str,
        token: &str,
        index: u64,
    ) -> Result<Inspection, AppError> {
        self.witness_logs(actor).await?;
        let log = repo::log(&self.db.conn, origin)
            .await?
            .ok_or(AppError::NotFound("witnessed log"))?;
        let (Some(root), size) = (log.root, log.size as u64) else {
            return Err(AppError::field(
                "origin",
                "nothing_cosigned",
                "尚未副署该日志的任何检查点",
                "no checkpoint of this log was cosigned yet",
            ));
        };
        let root: dangjian_ledger::Hash = root.as_slice().try_into().map_err(internal)?;
        if index >= size {
            return Err(AppError::field(
                "index",
                "beyond_cosigned",
                format!("已副署的树只有 {size} 个叶"),
                format!("the cosigned tree has {size} leaves"),
            ));
        }
        let base = url.trim_end_matches('/');
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(internal)?;
        let get = |path: String| {
            let client = client.clone();
            async move {
                let resp = client
                    .get(format!("{base}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .map_err(|e| {
                        AppError::field(
                            "url",
                            "unreachable",
                            "无法连接下级服务器",
                            format!("{base}: {e}"),
                        )
                    })?;
                let status = resp.status().as_u16();
                let body: serde_json::Value =
                    serde_json::from_str(&resp.text().await.unwrap_or_default())
                        .unwrap_or_default();
                if status != 200 {
                    return Err(AppError::field(
                        "url",
                        "child_refused",
                        "下级服务器拒绝请求",
                        format!("the child answered {status}: {body}"),
                    ));
                }
                Ok(body)
            }
        };
        let entry = get(format!("/api/v1/ledger/entries/{index}")).await?;
        let proof = get(format!(
            "/api/v1/ledger/proofs/inclusion?index={index}&size={size}"
        ))
        .await?;
        let bad =
            |m: &str| AppError::field("url", "bad_answer", "下级服务器应答无效", m.to_string());
        let leaf = entry["leaf"]
            .as_str()
            .and_then(|l| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, l).ok()
            })
            .ok_or_else(|| bad("entry without a base64 leaf"))?;
        let hashes: Vec<dangjian_ledger::Hash> = proof["proof"]
            .as_array()
            .ok_or_else(|| bad("proof without hashes"))?
            .iter()
            .map(|h| {
                h.as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad("a proof hash is not 32 bytes of hex"))
            })
            .collect::<Result<_, _>>()?;
        let included = dangjian_ledger::verify_inclusion(
            &dangjian_ledger::leaf_hash(&leaf),
            index,
            size,
            &hashes,
            &root,
        )
        .is_ok();
        Ok(Inspection {
            origin: origin.to_string(),
            index,
            size,
            event_type: entry["event_type"].as_str().unwrap_or_default().to_string(),
            at_unix_ms: entry["at_unix_ms"].as_i64().unwrap_or_default(),
            included,
        })
    }

    /// This server's witness cosigner.
    pub async fn witness_cosigner(&self) -> Result<Cosigner, AppError> {
        let key = match &self.config.ledger_key_file {
            Some(p) => load_or_create_key(&p.with_file_name("witness.key"))?,
            None => {
                SigningKey::from_bytes(&hex_seed(&self.keys.blind_index(WITNESS_DOMAIN, "v1"))?)
            }
        };
        Cosigner::new(format!("{}/witness", self.ledger_origin().await?), key).map_err(internal)
    }

    /// The witness's verifier key string, for a child's `parent_vkey`.
    pub async fn witness_vkey(&self) -> Result<String, AppError> {
        Ok(self.witness_cosigner().await?.verifier().to_vkey())
    }

    /// Registers a child log by its checkpoint verifier key (the child's
    /// `dangjian ledger key`); the key's name is the log's origin. Only an
    /// administrator (or the CLI).
    pub async fn witness_add_log(&self, actor: &Actor, vkey: &str) -> Result<String, AppError> {
        let admin = actor
            .grants
            .iter()
            .any(|g| g.role == dangjian_domain::identity::Role::Admin);
        if !admin {
            return Err(AppError::Forbidden);
        }
        let v = Verifier::from_vkey(vkey.trim()).map_err(|e| {
            AppError::field(
                "vkey",
                "bad_vkey",
                "不是有效的验证公钥",
                format!("not a verifier key: {e}"),
            )
        })?;
        if v.key_type() != KeyType::Ed25519 {
            return Err(AppError::field(
                "vkey",
                "bad_vkey",
                "验证公钥须为 Ed25519 检查点密钥",
                "the key must be an Ed25519 checkpoint key".to_string(),
            ));
        }
        if v.name() == self.ledger_origin().await? {
            return Err(AppError::field(
                "vkey",
                "own_log",
                "不能见证本服务器自己的日志",
                "a server does not witness its own log".to_string(),
            ));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        repo::upsert_log(&tx, v.name(), &v.to_vkey(), now).await?;
        tx.commit().await?;
        Ok(v.name().to_string())
    }

    /// The child logs this server witnesses (auditors and administrators).
    pub async fn witness_logs(&self, actor: &Actor) -> Result<Vec<WitnessedLog>, AppError> {
        let may = actor.grants.iter().any(|g| {
            matches!(
                g.role,
                dangjian_domain::identity::Role::Admin | dangjian_domain::identity::Role::Auditor
            )
        });
        if !may {
            return Err(AppError::Forbidden);
        }
        let mut out = Vec::new();
        for l in repo::logs(&self.db.conn).await? {
            let cosigned = repo::cosigned(&self.db.conn, &l.origin).await?.len();
            out.push(WitnessedLog {
                origin: l.origin,
                vkey: l.vkey,
                size: l.size as u64,
                checkpoint: l.note,
                cosigned,
            });
        }
        Ok(out)
    }

    /// Answers a C2SP tlog-witness `add-checkpoint` request body: the
    /// cosignature line on success.
    pub async fn witness_add_checkpoint(&self, body: &str) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body)?;
        let origin = origin_of(&req.checkpoint)?;
        let log = repo::log(&self.db.conn, &origin)
            .await?
            .ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
        let verifier = Verifier::from_vkey(&log.vkey).map_err(internal)?;
        let last = match (&log.root, log.size) {
            (Some(root), size) if size > 0 => Some(Witnessed {
                size: size as u64,
                root: root.as_slice().try_into().map_err(internal)?,
            }),
            _ => None,
        };
        let cp = check(&req, &verifier, last.as_ref())?;
        let cosigner = self.witness_cosigner().await?;
        let now = self.clock.now();
        let line =
            cosign_response(&cosigner, &cp, now.timestamp().max(0) as u64).map_err(internal)?;
        if last.is_some_and(|w| w.size == cp.size()) {
            // The same checkpoint again (a retry): cosign, nothing to record.
            return Ok(line);
        }
        let note =
            attach_cosignature(&req.checkpoint, &line, &cosigner.verifier()).map_err(internal)?;
        let (_writer, tx) = self.begin_write().await.map_err(WitnessError::App)?;
        let advanced =
            repo::advance(&tx, &origin, req.old_size, cp.size(), cp.root(), &note, now).await?;
        if !advanced {
            drop(tx);
            let latest = repo::log(&self.db.conn, &origin)
                .await?
                .map_or(0, |l| l.size as u64);
            return Err(Refusal::Conflict { latest }.into());
        }
        tx.commit().await.map_err(|e| WitnessError::App(e.into()))?;
        tracing::info!(%origin, size = cp.size(), "cosigned a child checkpoint");
        Ok(line)
    }

    /// Pushes this server's latest checkpoint to the parent witness
    /// configured in `parent_url` / `parent_vkey` and stores the cosigned
    /// checkpoint. Errors name `parent_url` and say what the parent answered.
    pub async fn federation_push(&self) -> Result<PushReport, AppError> {
        let (Some(url), Some(vkey)) = (&self.config.parent_url, &self.config.parent_vkey) else {
            return Err(AppError::field(
                "parent_url",
                "not_configured",
                "未配置上级见证服务器（parent_url 与 parent_vkey）",
                "no parent witness configured (parent_url and parent_vkey)",
            ));
        };
        let witness = Verifier::from_vkey(vkey.trim()).map_err(|e| {
            AppError::field(
                "parent_vkey",
                "bad_vkey",
                "上级见证公钥无效",
                format!("the parent's witness key does not parse: {e}"),
            )
        })?;
        let note = self.ledger_checkpoint().await?;
        let own = self.ledger_signer().await?.verifier();
        let (cp, _, _) = Checkpoint::open(&note, &own).map_err(internal)?;
        let mut old = repo::latest_cosignature(&self.db.conn, witness.name())
            .await?
            .map_or(0, |c| c.size as u64);
        let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(internal)?;
        // A second try when the parent's record of what it cosigned differs
        // from ours (say, our database was restored from a backup).
        for _ in 0..2 {
            let proof = if old == 0 || old >= cp.size() {
                Vec::new()
            } else {
                self.ledger_consistency(old, cp.size()).await?
            };
            let body = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: note.clone(),
            }
            .encode();
            let resp = client
                .post(&endpoint)
                .header("content-type", "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await
                .map_err(|e| push_error("无法连接上级见证服务器", format!("{endpoint}: {e}")))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            match status {
                200 => {
                    let cosigned = attach_cosignature(&note, &text, &witness).map_err(|e| {
                        push_error(
                            "上级返回的副署签名无效",
                            format!("the parent's cosignature does not verify: {e}"),
                        )
                    })?;
                    let (_writer, tx) = self.begin_write().await?;
                    repo::insert_cosignature(
                        &tx,
                        witness.name(),
                        cp.size(),
                        &cosigned,
                        self.clock.now(),
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(PushReport {
                        witness: witness.name().to_string(),
                        old_size: old,
                        size: cp.size(),
                        cosigned_checkpoint: cosigned,
                    });
                }
                409 => {
                    let latest: u64 = text.trim().parse().map_err(|_| {
                        push_error(
                            "上级见证服务器应答无效",
                            format!("409 without a size: {text:?}"),
                        )
                    })?;
                    if latest > cp.size() {
                        return Err(push_error(
                            "上级已副署的日志比本服务器的更长：本地档案可能被回滚",
                            format!(
                                "the parent cosigned size {latest}, more than our {}: our archive may have been rolled back",
                                cp.size()
                            ),
                        ));
                    }
                    if latest == old {
                        break;
                    }
                    old = latest;
                }
                _ => {
                    return Err(push_error(
                        "上级见证服务器拒绝副署",
                        format!("the parent refused to cosign ({status}): {}", text.trim()),
                    ));
                }
            }
        }
        Err(push_error(
            "上级见证服务器拒绝副署：与其已副署的检查点不一致",
            "the parent refused: our checkpoint does not extend the one it cosigned".into(),
        ))
    }
}
