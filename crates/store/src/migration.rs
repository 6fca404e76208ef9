//! Schema migrations; the same code runs on SQLite and PostgreSQL.
//!
//! Every table with personal data names each column's classification
//! (DOMAIN.md §13): `[public]`, `[internal]`, `[sensitive]`, `[core]`.
//! Sensitive and core columns are stored encrypted (`_enc`) and, where exact
//! lookup is needed, with a keyed blind index (`_bidx`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Foundation),
            Box::new(M0002Supervision),
            Box::new(M0003Ledger),
            Box::new(M0004Dues),
            Box::new(M0005Meetings),
            Box::new(M0006Security),
            Box::new(M0007Workflow),
            Box::new(M0008Federation),
            Box::new(M0009Certificates),
            Box::new(M0009CommitteeTerm),
            Box::new(M0009DuesRemittances),
            Box::new(M0009MinutesSignatures),
            Box::new(M0009Transfers),
            Box::new(M0009Votes),
            Box::new(M0010SignatureAlg),
            Box::new(M0011AdmissionAttachments),
            Box::new(M0012TransferWorkflow),
            Box::new(M0013BidxByStatus),
        ]
    }
}

/// The members' blind index in two halves that split the rows by status
/// (issue 2, roster import figure; BENCHMARKS.md): active registrations in
/// `uq_members_active_person` (m0001, the one-person-one-registration rule of
/// DOMAIN.md §3), ended ones in the new partial `idx_members_bidx_past`. The
/// full index `idx_members_bidx` held every row's key a second time; a
/// lookup of any status now names both halves (`repo::members`), and a
/// roster import, which writes active rows only, maintains one index instead
/// of two.
pub struct M0013BidxByStatus;

impl MigrationName for M0013BidxByStatus {
    fn name(&self) -> &str {
        "m0013_bidx_by_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0013BidxByStatus {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        c.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_members_bidx_past \
             ON members (id_bidx) WHERE status <> 'active'",
        )
        .await?;
        c.execute_unprepared("DROP INDEX IF EXISTS idx_members_bidx")
            .await?;
        Ok(())
    }
}

/// The term length (years) chosen when a committee was elected [public]
/// (DOMAIN.md §2: grassroots committees 3–5 years); NULL: the longest the
/// organization's kind allows.
pub struct M0009CommitteeTerm;

impl MigrationName for M0009CommitteeTerm {
    fn name(&self) -> &str {
        "m0009_committee_term"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009CommitteeTerm {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("orgs")
                .add_column(integer_null("committee_term_years"))
                .to_owned(),
        )
        .await
    }
}

/// The algorithm of a certificate's signature [public] (issue 5: `ed25519`
/// in the international suite, `sm2` — SM2 with SM3, GB/T 32918 — in the
/// national suite); rows written before it are Ed25519.
pub struct M0010SignatureAlg;

impl MigrationName for M0010SignatureAlg {
    fn name(&self) -> &str {
        "m0010_signature_alg"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0010SignatureAlg {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("certificates")
                .add_column(string_len("signature_alg", 16).default("ed25519"))
                .to_owned(),
        )
        .await
    }
}

/// Scans of the materials an admission requires (issue 8: the political
/// review report, the training certificate, the volunteer form, …), one row
/// per uploaded file of an admission (a `workflow_instances` row).
pub struct M0011AdmissionAttachments;

impl MigrationName for M0011AdmissionAttachments {
    fn name(&self) -> &str {
        "m0011_admission_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0011AdmissionAttachments {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Admission attachments [sensitive]: data_enc is the file, encrypted
        // with the field key (a political review report is personal data);
        // kind [public] names the material (a step's required attachment);
        // filename [internal]; content_type [public] is detected from the
        // bytes; size and sha256 [internal] are of the plain file.
        m.create_table(
            Table::create()
                .table("admission_attachments")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("instance_id"))
                .col(string_len("kind", 64))
                .col(string_len("filename", 200))
                .col(string_len("content_type", 64))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(blob("data_enc"))
                .col(big_integer_null("uploaded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "admission_attachments",
            "idx_admission_attachments_instance",
            &["instance_id"],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table("admission_attachments")
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Organizations, members, users, sessions, tokens and the audit log.
pub struct M0001Foundation;

impl MigrationName for M0001Foundation {
    fn name(&self) -> &str {
        "m0001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Foundation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Organizations [public]: the tree is stored as a materialized path of
        // ids ("/1/12/345/") so a subtree is one index range scan; see ARCHITECTURE.md.
        m.create_table(
            Table::create()
                .table("orgs")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len_uniq("code", 32))
                .col(string_len("name", 200))
                .col(string_len("kind", 32))
                .col(string_len("setting", 32))
                .col(big_integer_null("parent_id"))
                .col(string_len("path", 400))
                .col(integer("depth"))
                .col(string_len("status", 16))
                .col(boolean("has_committee"))
                .col(date_null("committee_elected_on"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "orgs", "idx_orgs_path", &["path"]).await?;
        index(m, "orgs", "idx_orgs_parent", &["parent_id"]).await?;

        // History of each organization [internal]: created, renamed, moved, dissolved.
        m.create_table(
            Table::create()
                .table("org_history")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(timestamp_with_time_zone("at"))
                .col(big_integer_null("actor_user_id"))
                .col(string_len("action", 32))
                .col(json("detail"))
                .to_owned(),
        )
        .await?;
        index(m, "org_history", "idx_org_history_org", &["org_id"]).await?;

        // Members. name [internal], id_number [sensitive] as id_enc + id_bidx
        // (+ id_masked, two leading and two trailing characters only), birth_date
        // and sex [internal] derived from the ID, ethnicity/education/dues
        // category [internal], phone [sensitive] as phone_enc + phone_masked,
        // stage and its dates [internal], org/group [public], uid [internal]:
        // pseudonymous id used in the archive ledger.
        m.create_table(
            Table::create()
                .table("members")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(uuid_uniq("uid"))
                .col(big_integer("org_id"))
                .col(big_integer_null("group_id"))
                .col(string_len("name", 100))
                .col(blob("id_enc"))
                .col(string_len("id_bidx", 64))
                .col(string_len("id_masked", 32))
                .col(date("birth_date"))
                .col(string_len("sex", 8))
                .col(string_len("ethnicity", 32))
                .col(blob_null("phone_enc"))
                .col(string_len_null("phone_masked", 32))
                .col(string_len_null("education", 32))
                .col(string_len("dues_category", 32))
                .col(string_len("stage", 32))
                .col(date_null("applied_on"))
                .col(date_null("activist_on"))
                .col(date_null("development_target_on"))
                .col(date_null("probationary_on"))
                .col(date_null("full_on"))
                .col(boolean("is_mobile"))
                .col(string_len("status", 32))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "members", "idx_members_org", &["org_id", "id"]).await?;
        index(m, "members", "idx_members_bidx", &["id_bidx"]).await?;
        // One person, one active registration anywhere in the tree (DOMAIN.md §3).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_members_active_person \
                 ON members (id_bidx) WHERE status = 'active'",
            )
            .await?;

        // Archive events of a member [core]: detail is encrypted.
        m.create_table(
            Table::create()
                .table("member_events")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("member_id"))
                .col(big_integer("org_id"))
                .col(timestamp_with_time_zone("at"))
                .col(string_len("kind", 64))
                .col(big_integer_null("actor_user_id"))
                .col(blob("detail_enc"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "member_events",
            "idx_member_events_member",
            &["member_id"],
        )
        .await?;

        // Users: login [internal], password_hash [core, argon2id], display name [internal].
        m.create_table(
            Table::create()
                .table("users")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len_uniq("login", 64))
                .col(string_len("password_hash", 200))
                .col(string_len("display_name", 100))
                .col(big_integer_null("member_id"))
                .col(boolean("disabled"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        // Roles a user holds at organizations [internal]; each covers the subtree.
        m.create_table(
            Table::create()
                .table("role_grants")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(big_integer("org_id"))
                .col(string_len("role", 32))
                .to_owned(),
        )
        .await?;
        index(m, "role_grants", "idx_role_grants_user", &["user_id"]).await?;

        // Web sessions and API tokens: only SHA-256 of the secret is stored.
        m.create_table(
            Table::create()
                .table("sessions")
                .if_not_exists()
                .col(string_len("id_hash", 64).primary_key())
                .col(big_integer("user_id"))
                .col(string_len("csrf", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(boolean("revoked"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("api_tokens")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len_uniq("token_hash", 64))
                .col(big_integer("user_id"))
                .col(string_len("name", 100))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("expires_at"))
                .col(boolean("revoked"))
                .to_owned(),
        )
        .await?;

        // Audit log [internal]: who did or read what, when, from where.
        m.create_table(
            Table::create()
                .table("audit_log")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("at"))
                .col(big_integer_null("user_id"))
                .col(string_len("action", 64))
                .col(string_len("target_kind", 32))
                .col(big_integer_null("target_id"))
                .col(big_integer_null("org_id"))
                .col(string_len_null("remote_addr", 64))
                .col(json("detail"))
                .to_owned(),
        )
        .await?;
        index(m, "audit_log", "idx_audit_org", &["org_id", "at"]).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_log",
            "api_tokens",
            "sessions",
            "role_grants",
            "users",
            "member_events",
            "members",
            "org_history",
            "orgs",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Supervision (DOMAIN.md §8, §9): warnings with their history, threshold
/// overrides per organization subtree, and the 三重一大 decision register.
pub struct M0002Supervision;

impl MigrationName for M0002Supervision {
    fn name(&self) -> &str {
        "m0002_supervision"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Supervision {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Warnings [internal]: one row per (rule, subject, period), never
        // deleted. org_id is the organization concerned (for a member, its
        // branch); visibility follows the tree through orgs.path. The details
        // name stages and counts, never personal data.
        m.create_table(
            Table::create()
                .table("warnings")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("rule", 48))
                .col(string_len("level", 16))
                .col(string_len("subject_kind", 16))
                .col(big_integer("subject_id"))
                .col(big_integer("org_id"))
                .col(string_len("period_key", 32))
                .col(string_len("state", 16))
                .col(boolean("cleared_by_data"))
                .col(boolean("tolerated_mistake"))
                .col(date_null("due_on"))
                .col(text("detail_zh"))
                .col(text("detail_en"))
                .col(timestamp_with_time_zone("raised_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .to_owned(),
        )
        .await?;
        // Raised once per subject and period (DOMAIN.md §9): the engine
        // inserts with ON CONFLICT DO NOTHING against this index.
        m.create_index(
            Index::create()
                .name("uq_warnings_key")
                .table("warnings")
                .col("rule")
                .col("subject_kind")
                .col("subject_id")
                .col("period_key")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        index(m, "warnings", "idx_warnings_org", &["org_id", "state"]).await?;
        index(
            m,
            "warnings",
            "idx_warnings_subject",
            &["subject_kind", "subject_id"],
        )
        .await?;

        // History of each warning [internal]: raised, escalated, recurred,
        // cleared (by the engine), acknowledged, corrected (with evidence),
        // closed, reopened; who and when. Append only.
        m.create_table(
            Table::create()
                .table("warning_events")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("warning_id"))
                .col(timestamp_with_time_zone("at"))
                .col(string_len("kind", 16))
                .col(big_integer_null("actor_user_id"))
                .col(string_len_null("from_level", 16))
                .col(string_len("level", 16))
                .col(string_len_null("from_state", 16))
                .col(string_len("state", 16))
                .col(text_null("evidence"))
                .col(boolean("tolerated_mistake"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "warning_events",
            "idx_warning_events_warning",
            &["warning_id", "id"],
        )
        .await?;

        // Threshold overrides per organization subtree [internal]: append
        // only; the latest row of an organization is in force. Every change
        // is also in the audit log.
        m.create_table(
            Table::create()
                .table("threshold_overrides")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(json("overrides"))
                .col(big_integer_null("changed_by"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "threshold_overrides",
            "idx_threshold_overrides_org",
            &["org_id", "id"],
        )
        .await?;

        // 三重一大 register [internal]: the record of DOMAIN.md §8 as columns,
        // attendees/recused/statements as JSON (leadership seat or member
        // numbers, no names), and the stored verdict of the compliance checks.
        m.create_table(
            Table::create()
                .table("decisions")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(string_len("kind", 32))
                .col(string_len("title", 200))
                .col(big_integer_null("amount_fen"))
                .col(big_integer("threshold_fen"))
                .col(string_len("method", 32))
                .col(date("decided_on"))
                .col(string_len_null("meeting", 200))
                .col(integer("members_total"))
                .col(json("attendees"))
                .col(json("recused"))
                .col(boolean("prior_research"))
                .col(boolean("consultation"))
                .col(boolean("legal_review"))
                .col(json("statements"))
                .col(boolean("dissent_recorded"))
                .col(boolean("emergency"))
                .col(date_null("emergency_reported_on"))
                .col(boolean("compliant"))
                .col(string_len_null("worst_level", 16))
                .col(json("verdict"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "decisions", "idx_decisions_org", &["org_id", "id"]).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "decisions",
            "threshold_overrides",
            "warning_events",
            "warnings",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The archive ledger (issue 4): leaves of the RFC 9162 log, its complete
/// subtree hashes and its signed checkpoints. Append only; no personal data.
pub struct M0003Ledger;

impl MigrationName for M0003Ledger {
    fn name(&self) -> &str {
        "m0003_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Ledger {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Leaves [internal]: the canonical leaf bytes (event type, member uid,
        // time, keyed commitment; no personal data), the record they commit
        // to, and the keyed digest of the member row after the event. The
        // primary key on the index makes a concurrent second append of the
        // same index fail instead of forking the log.
        m.create_table(
            Table::create()
                .table("ledger_leaves")
                .if_not_exists()
                .col(big_integer("leaf_index").primary_key())
                .col(blob("leaf"))
                .col(big_integer_null("member_event_id"))
                .col(big_integer_null("member_id"))
                .col(blob("member_digest"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ledger_leaves",
            "idx_ledger_leaves_event",
            &["member_event_id"],
        )
        .await?;
        index(
            m,
            "ledger_leaves",
            "idx_ledger_leaves_member",
            &["member_id", "leaf_index"],
        )
        .await?;

        // Complete subtree hashes [public]: node (level, idx) covers leaves
        // idx·2^level .. (idx+1)·2^level; written once, never updated.
        m.create_table(
            Table::create()
                .table("ledger_nodes")
                .if_not_exists()
                .col(integer("level"))
                .col(big_integer("idx"))
                .col(blob("hash"))
                .primary_key(Index::create().col("level").col("idx"))
                .to_owned(),
        )
        .await?;

        // Signed checkpoints [public]: C2SP signed notes, one per tree size.
        m.create_table(
            Table::create()
                .table("ledger_checkpoints")
                .if_not_exists()
                .col(big_integer("size").primary_key())
                .col(blob("root"))
                .col(text("note"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["ledger_checkpoints", "ledger_nodes", "ledger_leaves"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Near-duplicate minutes (DOMAIN.md §5, `dangjian_text`): one MinHash
/// signature per meeting with minutes, and its LSH band keys indexed so a
/// check reads the few meetings sharing a band, never every signature.
pub struct M0009MinutesSignatures;

impl MigrationName for M0009MinutesSignatures {
    fn name(&self) -> &str {
        "m0009_minutes_signatures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009MinutesSignatures {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Signatures [internal]: a one-way MinHash of the minutes (the text
        // cannot be read back from it); scheme names the hashing
        // (`dangjian_text::SCHEME`); confirmed_* record the branch's
        // confirmation, with its reason, that similar minutes are genuine.
        m.create_table(
            Table::create()
                .table("minutes_signatures")
                .if_not_exists()
                .col(big_integer("meeting_id").primary_key())
                .col(big_integer("org_id"))
                .col(string_len("scheme", 32))
                .col(blob("signature"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(text_null("confirmed_reason"))
                .col(big_integer_null("confirmed_by"))
                .col(timestamp_with_time_zone_null("confirmed_at"))
                .to_owned(),
        )
        .await?;
        // Band keys [internal]: `dangjian_text::BANDS` rows per signature.
        m.create_table(
            Table::create()
                .table("minutes_bands")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("band_key"))
                .col(big_integer("meeting_id"))
                .to_owned(),
        )
        .await?;
        index(m, "minutes_bands", "idx_minutes_bands_key", &["band_key"]).await?;
        index(
            m,
            "minutes_bands",
            "idx_minutes_bands_meeting",
            &["meeting_id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["minutes_bands", "minutes_signatures"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Federation across levels (issue 4 §5): as a witness, the child logs this
/// server cosigns and every checkpoint it cosigned; as a child, the
/// cosignatures its parent returned. Append only but for each log's latest
/// state; no personal data.
pub struct M0008Federation;

impl MigrationName for M0008Federation {
    fn name(&self) -> &str {
        "m0008_federation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008Federation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Child logs this server witnesses [public]: origin, verifier key,
        // and the last checkpoint it cosigned (size 0 and no root before the
        // first). Updated only by a conditional UPDATE on the old size, so
        // two concurrent requests cannot both advance it.
        m.create_table(
            Table::create()
                .table("witness_logs")
                .if_not_exists()
                .col(string_len("origin", 200).primary_key())
                .col(text("vkey"))
                .col(big_integer("size"))
                .col(blob_null("root"))
                .col(text_null("note"))
                .col(big_integer_null("digests_at"))
                .col(timestamp_with_time_zone("added_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        // Every checkpoint cosigned [public], with the cosignature.
        m.create_table(
            Table::create()
                .table("witness_cosigned")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("origin", 200))
                .col(big_integer("size"))
                .col(blob("root"))
                .col(text("note"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "witness_cosigned",
            "idx_witness_cosigned_origin",
            &["origin", "size"],
        )
        .await?;
        // Keyed digests of the ID numbers of each log's active members
        // [internal] (issue 4 §6): HMAC under the federation key, which the
        // witness may not hold; one person active under two origins is
        // reported to both. This server's own members are under its origin.
        m.create_table(
            Table::create()
                .table("federation_digests")
                .if_not_exists()
                .col(string_len("origin", 200))
                .col(string_len("digest", 64))
                .primary_key(Index::create().col("origin").col("digest"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "federation_digests",
            "idx_federation_digests_digest",
            &["digest"],
        )
        .await?;
        // This server's checkpoints as cosigned by its parent [public].
        m.create_table(
            Table::create()
                .table("ledger_cosignatures")
                .if_not_exists()
                .col(string_len("witness", 200))
                .col(big_integer("size"))
                .col(text("note"))
                .col(timestamp_with_time_zone("at"))
                .primary_key(Index::create().col("witness").col("size"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "ledger_cosignatures",
            "federation_digests",
            "witness_cosigned",
            "witness_logs",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The workflow engine (issue 8): instances of versioned processes (the
/// admission of a member first), their history and their open deadlines.
/// Transfers on the workflow engine and definitions as stored data
/// (issue 8: "one engine for admissions, transfers and the processes that
/// come later", "process definitions as versioned data").
///
/// - `workflow_definitions` [public]: each process definition a deployment
///   ran, by key and version, as JSON with its SHA-256 digest; the
///   application refuses to start when the definition of a stored key and
///   version has changed (an edit without a version bump).
/// - `transfer_letters.instance_id` [internal]: the letter's run of the
///   `transfer` process. Every letter gets one here: issued letters an
///   active run (next step: confirmation), arrived ones a completed run,
///   cancelled or returned ones a cancelled run. Their history entries are
///   encrypted with the field key, which a migration does not hold: the
///   application writes them at start-up (role `migrated`) for runs
///   without entries.
/// - `transfer_letters.status` is dropped with its two indexes: where a
///   letter stands is its run's status, and one open letter per member is
///   `uq_workflow_instances_open` on (process_key, member_id).
pub struct M0012TransferWorkflow;

impl MigrationName for M0012TransferWorkflow {
    fn name(&self) -> &str {
        "m0012_transfer_workflow"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0012TransferWorkflow {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm::{ConnectionTrait, Statement, Value};

        m.create_table(
            Table::create()
                .table("workflow_definitions")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("process_key", 48))
                .col(integer("version"))
                .col(text("definition"))
                .col(string_len("digest", 64))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_workflow_definitions_version")
                .table("workflow_definitions")
                .col("process_key")
                .col("version")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("transfer_letters")
                .add_column(big_integer_null("instance_id"))
                .to_owned(),
        )
        .await?;

        let c = m.get_connection();
        let backend = c.get_database_backend();
        let letters = c
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, status, member_id, from_org_id, to_org_id, issued_by, \
                 created_at, updated_at FROM transfer_letters ORDER BY id",
            ))
            .await?;
        for l in letters {
            let id: i64 = l.try_get("", "id")?;
            let status: String = l.try_get("", "status")?;
            let member_id: i64 = l.try_get("", "member_id")?;
            let from: Option<i64> = l.try_get("", "from_org_id")?;
            let to: Option<i64> = l.try_get("", "to_org_id")?;
            let issued_by: Option<i64> = l.try_get("", "issued_by")?;
            let created: chrono::DateTime<chrono::Utc> = l.try_get("", "created_at")?;
            let updated: chrono::DateTime<chrono::Utc> = l.try_get("", "updated_at")?;
            let Some(org_id) = from.or(to) else {
                return Err(DbErr::Migration(format!(
                    "transfer letter {id} names no branch of this server"
                )));
            };
            // The two steps are `issue` and `confirm`.
            let (run, next, done): (&str, Option<&str>, i32) = match status.as_str() {
                "issued" => ("active", Some("confirm"), 1),
                "arrived" => ("completed", None, 2),
                "cancelled" => ("cancelled", Some("confirm"), 1),
                other => {
                    return Err(DbErr::Migration(format!(
                        "transfer letter {id} has an unknown status {other:?}"
                    )));
                }
            };
            let insert = Query::insert()
                .into_table("workflow_instances")
                .columns([
                    "uid",
                    "process_key",
                    "process_version",
                    "member_id",
                    "org_id",
                    "status",
                    "next_step",
                    "steps_done",
                    "started_by",
                    "started_at",
                    "updated_at",
                ])
                .values_panic([
                    Value::from(uuid::Uuid::now_v7()).into(),
                    "transfer".into(),
                    1i32.into(),
                    member_id.into(),
                    org_id.into(),
                    run.into(),
                    next.map(String::from).into(),
                    done.into(),
                    issued_by.into(),
                    created.into(),
                    updated.into(),
                ])
                .returning_col("id")
                .to_owned();
            let row = c
                .query_one_raw(backend.build(&insert))
                .await?
                .ok_or_else(|| DbErr::Migration("no id returned".into()))?;
            let instance_id: i64 = row.try_get_by_index(0)?;
            let update = Query::update()
                .table("transfer_letters")
                .value("instance_id", instance_id)
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            c.execute_raw(backend.build(&update)).await?;
        }

        m.create_index(
            Index::create()
                .name("uq_transfer_letters_instance")
                .table("transfer_letters")
                .col("instance_id")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        // SQLite drops a column only when no index names it.
        for idx in ["uq_transfer_letters_open", "idx_transfer_letters_status"] {
            c.execute_unprepared(&format!("DROP INDEX IF EXISTS {idx}"))
                .await?;
        }
        c.execute_unprepared("ALTER TABLE transfer_letters DROP COLUMN status")
            .await?;
        Ok(())
    }
}

pub struct M0007Workflow;

impl MigrationName for M0007Workflow {
    fn name(&self) -> &str {
        "m0007_workflow"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0007Workflow {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Instances [internal]: which process (key and version) runs for
        // which member in which branch, and where it stands. No personal
        // data beyond the member's id.
        m.create_table(
            Table::create()
                .table("workflow_instances")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(uuid("uid"))
                .col(string_len("process_key", 48))
                .col(integer("process_version"))
                .col(big_integer("member_id"))
                .col(big_integer("org_id"))
                .col(string_len("status", 16))
                .col(string_len_null("next_step", 48))
                .col(integer("steps_done"))
                .col(big_integer_null("started_by"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "workflow_instances",
            "idx_workflow_instances_org",
            &["org_id", "status"],
        )
        .await?;
        index(
            m,
            "workflow_instances",
            "idx_workflow_instances_member",
            &["member_id"],
        )
        .await?;
        // One open run of a process per member.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_workflow_instances_open \
                 ON workflow_instances (process_key, member_id) WHERE status = 'active'",
            )
            .await?;

        // History [core]: one row per action. The form (political review
        // conclusions, introducers, votes), attachments, warnings and
        // override reasons are encrypted in detail_enc. (instance_id, seq)
        // is unique, so two concurrent actions on the same step cannot both
        // be recorded.
        m.create_table(
            Table::create()
                .table("workflow_entries")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("instance_id"))
                .col(integer("seq"))
                .col(string_len("kind", 16))
                .col(string_len("step_key", 48))
                .col(big_integer_null("actor_user_id"))
                .col(string_len("role", 32))
                .col(timestamp_with_time_zone("at"))
                .col(blob("detail_enc"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_workflow_entries_seq")
                .table("workflow_entries")
                .col("instance_id")
                .col("seq")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        // Open deadlines [internal]: rows with due days, evaluated by the
        // sweep, so they survive restarts. Rewritten after every action.
        m.create_table(
            Table::create()
                .table("workflow_timers")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("instance_id"))
                .col(big_integer("org_id"))
                .col(string_len("timer_key", 48))
                .col(string_len("settled_by", 48))
                .col(date("due_on"))
                .col(date("remind_on"))
                .col(string_len("state", 16))
                .col(string_len("rule", 64))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_workflow_timers_key")
                .table("workflow_timers")
                .col("instance_id")
                .col("timer_key")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "workflow_timers",
            "idx_workflow_timers_remind",
            &["remind_on"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["workflow_timers", "workflow_entries", "workflow_instances"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Security (issue 5): the audit log's own hash chain, the users' second
/// factor (TOTP), and the failed sign-in counters behind the lockout.
pub struct M0006Security;

impl MigrationName for M0006Security {
    fn name(&self) -> &str {
        "m0006_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0006Security {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Audit chain [internal]: position in the chain, the previous row's
        // hash and this row's SHA-256 over its canonical content (see
        // repo/audit.rs). Rows written before this migration keep NULLs and
        // stay outside the chain.
        for col in [
            ColumnDef::new("seq").big_integer().null().to_owned(),
            ColumnDef::new("prev_hash").string_len(64).null().to_owned(),
            ColumnDef::new("hash").string_len(64).null().to_owned(),
        ] {
            m.alter_table(Table::alter().table("audit_log").add_column(col).to_owned())
                .await?;
        }
        m.create_index(
            Index::create()
                .name("idx_audit_seq")
                .table("audit_log")
                .col("seq")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        // Second factor on users: the TOTP secret [core] encrypted with the
        // keyring (AAD "users.totp_secret"), whether it is confirmed, and the
        // last time step accepted (a code is good once).
        for col in [
            ColumnDef::new("totp_secret_enc").blob().null().to_owned(),
            ColumnDef::new("totp_enabled")
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new("totp_last_step")
                .big_integer()
                .null()
                .to_owned(),
        ] {
            m.alter_table(Table::alter().table("users").add_column(col).to_owned())
                .await?;
        }

        // Failed sign-ins [internal]: one row per account ("login:NAME") or
        // remote address ("addr:IP"); no passwords, no personal data beyond
        // the login name and address already in the audit log.
        m.create_table(
            Table::create()
                .table("login_throttle")
                .if_not_exists()
                .col(string_len("key", 200).primary_key())
                .col(integer("failures"))
                .col(timestamp_with_time_zone("last_failure_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("login_throttle").if_exists().to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("idx_audit_seq")
                .table("audit_log")
                .to_owned(),
        )
        .await?;
        for col in ["totp_last_step", "totp_enabled", "totp_secret_enc"] {
            m.alter_table(Table::alter().table("users").drop_column(col).to_owned())
                .await?;
        }
        for col in ["hash", "prev_hash", "seq"] {
            m.alter_table(
                Table::alter()
                    .table("audit_log")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Organizational life (DOMAIN.md §5): meetings with their schedule,
/// sign-in code and minutes, and one attendance row per expected member.
pub struct M0005Meetings;

impl MigrationName for M0005Meetings {
    fn name(&self) -> &str {
        "m0005_meetings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005Meetings {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Meetings [internal]: org_id is the branch or, for a party group
        // meeting, the group; title, agenda, place, online link, lecturer and
        // minutes are work records; signin_code [internal] is shown to those
        // present; series_id links the instances of one recurring schedule.
        m.create_table(
            Table::create()
                .table("meetings")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(string_len("kind", 32))
                .col(string_len("title", 200))
                .col(text("agenda"))
                .col(string_len_null("place", 200))
                .col(string_len_null("online_link", 500))
                .col(string_len_null("lecturer", 100))
                .col(boolean("by_secretary"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(string_len("status", 16))
                .col(string_len("signin_code", 8))
                .col(big_integer_null("series_id"))
                .col(text_null("minutes"))
                .col(date_null("minutes_on"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "meetings", "idx_meetings_org", &["org_id", "starts_at"]).await?;

        // Attendance [internal]: one row per (meeting, expected member), so a
        // sign-in is one guarded UPDATE and "once per member" holds under
        // concurrent requests. state expected/present/leave; channel online
        // or offline (paper list) once recorded; leave reason and decision;
        // failed_codes counts wrong sign-in codes (online sign-in locks after a few).
        m.create_table(
            Table::create()
                .table("meeting_attendance")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("meeting_id"))
                .col(big_integer("member_id"))
                .col(string_len("state", 16))
                .col(string_len_null("channel", 16))
                .col(timestamp_with_time_zone_null("recorded_at"))
                .col(big_integer_null("recorded_by"))
                .col(text_null("leave_reason"))
                .col(string_len_null("leave_status", 16))
                .col(big_integer_null("leave_decided_by"))
                .col(integer("failed_codes").default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_meeting_attendance")
                .table("meeting_attendance")
                .col("meeting_id")
                .col("member_id")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "meeting_attendance",
            "idx_meeting_attendance_member",
            &["member_id", "state"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["meeting_attendance", "meetings"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Membership dues (DOMAIN.md §7): annual bases with their history, the
/// monthly sheets, and payments (corrections are reversing rows).
pub struct M0004Dues;

impl MigrationName for M0004Dues {
    fn name(&self) -> &str {
        "m0004_dues"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004Dues {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Annual bases, never updated (a new row is the history): member and
        // org [internal], year and effective month [internal], category
        // [internal], the monthly income base [sensitive] as base_enc, the
        // resulting fee and rule [internal], relief and approvals [internal].
        m.create_table(
            Table::create()
                .table("dues_bases")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("member_id"))
                .col(big_integer("org_id"))
                .col(integer("year"))
                .col(date("effective_from"))
                .col(string_len("category", 32))
                .col(blob_null("base_enc"))
                .col(big_integer("fee_fen"))
                .col(string_len("rule", 64))
                .col(string_len_null("relief", 16))
                .col(string_len_null("approval_ref", 100))
                .col(string_len("declared_by", 16))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "dues_bases",
            "idx_dues_bases_member",
            &["member_id", "effective_from", "id"],
        )
        .await?;

        // Monthly charges (the dues sheet) [internal]: one per member and
        // month, so generating a sheet twice inserts nothing.
        m.create_table(
            Table::create()
                .table("dues_charges")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(big_integer("member_id"))
                .col(date("month"))
                .col(big_integer("fee_fen"))
                .col(big_integer("base_id"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_dues_charges_member_month")
                .table("dues_charges")
                .col("member_id")
                .col("month")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "dues_charges",
            "idx_dues_charges_org_month",
            &["org_id", "month"],
        )
        .await?;

        // Payments [internal]: never updated or deleted; a correction is a
        // row of kind `correction` with the negated amount and `reverses_id`.
        m.create_table(
            Table::create()
                .table("dues_payments")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(big_integer("member_id"))
                .col(string_len("kind", 16))
                .col(string_len("method", 16))
                .col(string_len("reference", 64))
                .col(big_integer("amount_fen"))
                .col(date("paid_on"))
                .col(string_len_null("approval_ref", 100))
                .col(boolean("special"))
                .col(big_integer_null("reverses_id"))
                .col(string_len_null("reason", 200))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "dues_payments",
            "idx_dues_payments_member",
            &["member_id", "id"],
        )
        .await?;
        index(
            m,
            "dues_payments",
            "idx_dues_payments_org_paid",
            &["org_id", "paid_on"],
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_dues_payments_reverses")
                .table("dues_payments")
                .col("reverses_id")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["dues_payments", "dues_charges", "dues_bases"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Dues remitted to the higher level (DOMAIN.md §7): one row per transfer an
/// organization records for a month's collection. Never updated; a wrong
/// entry is corrected by a row with the negated amount and `reverses_id`.
pub struct M0009DuesRemittances;

impl MigrationName for M0009DuesRemittances {
    fn name(&self) -> &str {
        "m0009_dues_remittances"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009DuesRemittances {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // All columns [internal]: the remitting organization, the one it
        // remits to (its parent when recorded), the month of collection,
        // the amount in fen, the transfer's reference and date.
        m.create_table(
            Table::create()
                .table("dues_remittances")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(big_integer_null("to_org_id"))
                .col(date("month"))
                .col(big_integer("amount_fen"))
                .col(string_len("reference", 64))
                .col(date("remitted_on"))
                .col(big_integer_null("reverses_id"))
                .col(string_len_null("reason", 200))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        let mut idx = Index::create();
        idx.name("idx_dues_remittances_org_month")
            .table("dues_remittances")
            .col("org_id")
            .col("month")
            .if_not_exists();
        m.create_index(idx.to_owned()).await?;
        m.create_index(
            Index::create()
                .name("uq_dues_remittances_reverses")
                .table("dues_remittances")
                .col("reverses_id")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table("dues_remittances")
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Certificates of organizational life (issue 6): one per attendee present at
/// a held meeting, signed with the certificate key and recorded in the
/// archive ledger through a `certificate_issued` member event.
pub struct M0009Certificates;

impl MigrationName for M0009Certificates {
    fn name(&self) -> &str {
        "m0009_certificates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009Certificates {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Certificates [internal]: number [public] is random (unguessable, it
        // is the key of the public verification page); payload [internal] is
        // the signed canonical text (member name, organization, meeting
        // kind, title and date, number, issue time); signature is Ed25519
        // over the payload; revoked_at and revoked_reason [internal].
        m.create_table(
            Table::create()
                .table("certificates")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len_uniq("number", 32))
                .col(big_integer("meeting_id"))
                .col(big_integer("member_id"))
                .col(big_integer("org_id"))
                .col(text("payload"))
                .col(blob("signature"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_len_null("revoked_reason", 500))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_certificates_meeting_member")
                .table("certificates")
                .col("meeting_id")
                .col("member_id")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        index(m, "certificates", "idx_certificates_member", &["member_id"]).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("certificates").if_exists().to_owned())
            .await?;
        Ok(())
    }
}

/// Votes and meeting records (DOMAIN.md §2, §4, §5): who sits on a branch
/// committee (dated), branch assembly votes on admission and conversion,
/// committee elections by secret ballot, meeting attachments.
pub struct M0009Votes;

impl MigrationName for M0009Votes {
    fn name(&self) -> &str {
        "m0009_votes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009Votes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Committee seats [internal]: member_id sits on org_id's committee as
        // secretary, deputy or member from from_on until until_on (null while
        // in office); election_id when the seat came from a recorded election.
        m.create_table(
            Table::create()
                .table("committee_members")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("org_id"))
                .col(big_integer("member_id"))
                .col(string_len("role", 16))
                .col(date("from_on"))
                .col(date_null("until_on"))
                .col(big_integer_null("election_id"))
                .col(big_integer_null("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "committee_members",
            "idx_committee_members_org",
            &["org_id", "until_on"],
        )
        .await?;

        // Assembly votes [internal]: one vote of a branch assembly (meeting_id)
        // on an admission step (admission_id, step); the counts as §4 needs
        // them, passed or the reason it did not, and ballots [internal]: the
        // per-voter choices of an open vote, present or written.
        m.create_table(
            Table::create()
                .table("assembly_votes")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("meeting_id"))
                .col(big_integer("org_id"))
                .col(big_integer("admission_id"))
                .col(string_len("step", 32))
                .col(integer("eligible"))
                .col(integer("present"))
                .col(integer("yes"))
                .col(integer("no"))
                .col(integer("abstain"))
                .col(integer("written_yes"))
                .col(integer("written_no"))
                .col(integer("written_abstain"))
                .col(string_len("outcome", 32))
                .col(json("ballots"))
                .col(big_integer_null("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "assembly_votes",
            "idx_assembly_votes_meeting",
            &["meeting_id"],
        )
        .await?;

        // Committee elections [internal]: a round of secret ballot at a
        // branch assembly; counts only — no ballot is linked to a voter.
        // candidates [internal]: member ids, names, votes and elected flags.
        m.create_table(
            Table::create()
                .table("elections")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("meeting_id"))
                .col(big_integer("org_id"))
                .col(integer("seats"))
                .col(integer("entitled"))
                .col(integer("present"))
                .col(integer("issued"))
                .col(integer("returned"))
                .col(integer("invalid"))
                .col(string_len("outcome", 32))
                .col(json("candidates"))
                .col(big_integer_null("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "elections", "idx_elections_org", &["org_id"]).await?;

        // Meeting attachments [internal]: minutes photos and scans, the photo
        // of the paper attendance list; content checked by its magic bytes,
        // sha256 of the bytes kept for integrity.
        m.create_table(
            Table::create()
                .table("meeting_attachments")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("meeting_id"))
                .col(string_len("purpose", 16))
                .col(string_len("filename", 200))
                .col(string_len("content_type", 64))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(blob("data"))
                .col(big_integer_null("uploaded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "meeting_attachments",
            "idx_meeting_attachments_meeting",
            &["meeting_id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "meeting_attachments",
            "elections",
            "assembly_votes",
            "committee_members",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Creates a plain (non-unique) index if it does not exist.
pub(crate) async fn index(
    m: &SchemaManager<'_>,
    table: &'static str,
    name: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table).if_not_exists();
    for c in cols {
        idx.col(*c);
    }
    m.create_index(idx.to_owned()).await
}

/// Transfers of organizational relationship (issue 8, DOMAIN.md §12): the
/// introduction letters, within this server and to or from another one.
pub struct M0009Transfers;

impl MigrationName for M0009Transfers {
    fn name(&self) -> &str {
        "m0009_transfers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009Transfers {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Introduction letters. origin [public]: "" for letters this server
        // issued, the sending server's log origin for letters received;
        // number [public]; kind, status, dates, organizations [internal];
        // member_name and member_stage [internal]; cancel_reason [internal];
        // document_enc [sensitive]: the signed letter of a transfer to
        // another server carries the member's record (ID number, phone) and
        // archive history, so it is encrypted; receipt [internal]: the
        // receiver's signed receipt (letter number and day, no personal data).
        m.create_table(
            Table::create()
                .table("transfer_letters")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("origin", 200))
                .col(string_len("number", 64))
                .col(string_len("kind", 16))
                .col(string_len("status", 16))
                .col(big_integer("member_id"))
                .col(string_len("member_name", 100))
                .col(string_len("member_stage", 32))
                .col(big_integer_null("from_org_id"))
                .col(string_len("from_org_code", 32))
                .col(string_len("from_org_name", 200))
                .col(big_integer_null("to_org_id"))
                .col(string_len("to_org_code", 32))
                .col(string_len("to_org_name", 200))
                .col(string_len_null("to_origin", 200))
                .col(date("issued_on"))
                .col(date("valid_until"))
                .col(date_null("arrived_on"))
                .col(string_len_null("cancel_reason", 500))
                .col(big_integer_null("issued_by"))
                .col(big_integer_null("closed_by"))
                .col(blob_null("document_enc"))
                .col(text_null("receipt"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        // A letter number is used once per issuing server: a replayed
        // letter is refused by this index even under concurrent imports.
        m.create_index(
            Index::create()
                .name("uq_transfer_letters_number")
                .table("transfer_letters")
                .col("origin")
                .col("number")
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        // One open letter per member.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_transfer_letters_open \
                 ON transfer_letters (member_id) WHERE status = 'issued'",
            )
            .await?;
        index(
            m,
            "transfer_letters",
            "idx_transfer_letters_from",
            &["from_org_id", "id"],
        )
        .await?;
        index(
            m,
            "transfer_letters",
            "idx_transfer_letters_to",
            &["to_org_id", "id"],
        )
        .await?;
        index(
            m,
            "transfer_letters",
            "idx_transfer_letters_status",
            &["status", "valid_until"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table("transfer_letters")
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
