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
        ]
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
