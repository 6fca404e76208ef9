//! Warnings, their history and the threshold overrides: the reads the
//! engine needs in batches (organizations in id order, member counts with one
//! GROUP BY per page, stored warnings of a range of subjects), the writes it
//! makes (insert once per key, update, append history), the subtree reads of
//! the dashboard, and a bulk loader for the sweep benchmark.
//!
//! Nothing here deletes a warning or an event (DOMAIN.md §9).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef,
};

use crate::StoreError;
use crate::entities::{member, org, threshold_override, warning, warning_event};
use crate::repo::orgs::in_subtree;

/// States of a warning that still wait for someone (open or acknowledged).
pub const LIVE_STATES: &[&str] = &["open", "acknowledged"];

/// What the organization rules read of an organization.
#[derive(Debug, Clone, FromQueryResult)]
pub struct OrgRuleRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub setting: String,
    pub path: String,
    pub status: String,
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
    pub committee_term_years: Option<i32>,
}

fn org_rule_select() -> sea_orm::Select<org::Entity> {
    org::Entity::find()
        .select_only()
        .column(org::Column::Id)
        .column(org::Column::ParentId)
        .column(org::Column::Kind)
        .column(org::Column::Setting)
        .column(org::Column::Path)
        .column(org::Column::Status)
        .column(org::Column::HasCommittee)
        .column(org::Column::CommitteeElectedOn)
        .column(org::Column::CommitteeTermYears)
}

/// The next `limit` organizations with an id above `after`, in id order,
/// of the whole forest or of the subtree at `within`. Over the whole forest
/// a page is exactly the organizations whose ids lie between its first and
/// its last, which lets the member counts of a page be one range query.
pub async fn org_page<C: ConnectionTrait>(
    c: &C,
    after: i64,
    limit: u64,
    within: Option<&str>,
) -> Result<Vec<OrgRuleRow>, StoreError> {
    let mut q = org_rule_select().filter(org::Column::Id.gt(after));
    if let Some(p) = within {
        q = q.filter(in_subtree(org::Column::Path, p));
    }
    Ok(q.order_by_asc(org::Column::Id)
        .limit(limit)
        .into_model::<OrgRuleRow>()
        .all(c)
        .await?)
}

/// Organizations by id, as the rules read them.
pub async fn org_rows<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<OrgRuleRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(org_rule_select()
        .filter(org::Column::Id.is_in(ids.to_vec()))
        .into_model::<OrgRuleRow>()
        .all(c)
        .await?)
}

/// Active members of one stage in one organization.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StageCount {
    pub org_id: i64,
    pub stage: String,
    pub n: i64,
}

/// Stages counted by the organization rules: full and probationary members
/// (DOMAIN.md §2 counts members; applicants and activists are not members).
const COUNTED_STAGES: &[&str] = &["full", "probationary"];

/// Active full and probationary members per organization and stage, for the
/// organizations with ids in `lo..=hi`: one GROUP BY over the
/// `(org_id, id)` index range.
pub async fn member_counts<C: ConnectionTrait>(
    c: &C,
    lo: i64,
    hi: i64,
) -> Result<Vec<StageCount>, StoreError> {
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::OrgId)
        .column(member::Column::Stage)
        .column_as(Expr::col(member::Column::Id).count(), "n")
        .filter(member::Column::OrgId.between(lo, hi))
        .filter(member::Column::Status.eq("active"))
        .filter(member::Column::Stage.is_in(COUNTED_STAGES.iter().copied()))
        .group_by(member::Column::OrgId)
        .group_by(member::Column::Stage)
        .into_model::<StageCount>()
        .all(c)
        .await?)
}

fn member_org() -> RelationDef {
    member::Entity::belongs_to(org::Entity)
        .from(member::Column::OrgId)
        .to(org::Column::Id)
        .into()
}

/// Like [`member_counts`], summed over the direct children of each of
/// `parents` (a general branch counts the members of its branches);
/// `org_id` of each row is the parent.
pub async fn child_member_counts<C: ConnectionTrait>(
    c: &C,
    parents: &[i64],
) -> Result<Vec<StageCount>, StoreError> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    Ok(member::Entity::find()
        .select_only()
        .column_as(org::Column::ParentId, "org_id")
        .column(member::Column::Stage)
        .column_as(Expr::col((member::Entity, member::Column::Id)).count(), "n")
        .join(JoinType::InnerJoin, member_org())
        .filter(org::Column::ParentId.is_in(parents.to_vec()))
        .filter(member::Column::Status.eq("active"))
        .filter(member::Column::Stage.is_in(COUNTED_STAGES.iter().copied()))
        .group_by(org::Column::ParentId)
        .group_by(member::Column::Stage)
        .into_model::<StageCount>()
        .all(c)
        .await?)
}

/// What the registry data-quality rule reads of a member (DOMAIN.md §3).
#[derive(Debug, Clone, FromQueryResult)]
pub struct MemberDatesRow {
    pub id: i64,
    pub org_id: i64,
    pub stage: String,
    pub applied_on: Option<NaiveDate>,
    pub activist_on: Option<NaiveDate>,
    pub development_target_on: Option<NaiveDate>,
    pub probationary_on: Option<NaiveDate>,
    pub full_on: Option<NaiveDate>,
}

/// The next `limit` members (any status) with an id above `after`, in id order.
pub async fn member_dates_page<C: ConnectionTrait>(
    c: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<MemberDatesRow>, StoreError> {
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .column(member::Column::OrgId)
        .column(member::Column::Stage)
        .column(member::Column::AppliedOn)
        .column(member::Column::ActivistOn)
        .column(member::Column::DevelopmentTargetOn)
        .column(member::Column::ProbationaryOn)
        .column(member::Column::FullOn)
        .filter(member::Column::Id.gt(after))
        .order_by_asc(member::Column::Id)
        .limit(limit)
        .into_model::<MemberDatesRow>()
        .all(c)
        .await?)
}

/// The stored warnings of `rules` about subjects of `kind` with ids in `lo..=hi`.
pub async fn of_subjects<C: ConnectionTrait>(
    c: &C,
    kind: &str,
    lo: i64,
    hi: i64,
    rules: &[&str],
) -> Result<Vec<warning::Model>, StoreError> {
    Ok(warning::Entity::find()
        .filter(warning::Column::SubjectKind.eq(kind))
        .filter(warning::Column::SubjectId.between(lo, hi))
        .filter(warning::Column::Rule.is_in(rules.iter().copied()))
        .order_by_asc(warning::Column::Id)
        .all(c)
        .await?)
}

/// Inserts new warnings, skipping any whose key `(rule, subject, period)`
/// is already stored; returns the rows actually inserted.
pub async fn insert_new<C: ConnectionTrait>(
    c: &C,
    rows: Vec<warning::ActiveModel>,
) -> Result<Vec<warning::Model>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let r = warning::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([
            warning::Column::Rule,
            warning::Column::SubjectKind,
            warning::Column::SubjectId,
            warning::Column::PeriodKey,
        ])
        .exec_with_returning_many(c)
        .await?;
    Ok(match r {
        sea_orm::TryInsertResult::Inserted(v) => v,
        sea_orm::TryInsertResult::Empty | sea_orm::TryInsertResult::Conflicted => Vec::new(),
    })
}

/// A warning to raise: open, with a `raised` history entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewWarning {
    pub rule: String,
    pub level: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub org_id: i64,
    pub period_key: String,
    pub due_on: Option<NaiveDate>,
    pub detail_zh: String,
    pub detail_en: String,
}

/// Raises `rows` at `now` on PostgreSQL in one statement per 5,000 rows: the
/// rows travel as one JSON parameter, are inserted skipping any whose key
/// `(rule, subject, period)` is already stored, and the `raised` history
/// entry of each row inserted is written by the same statement (a
/// data-modifying CTE). Returns how many were raised. Same outcome as
/// [`insert_new`] followed by [`add_events`], in one round trip.
pub async fn raise_pg<C: ConnectionTrait>(
    c: &C,
    rows: &[NewWarning],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    const SQL: &str = "WITH ins AS ( \
        INSERT INTO warnings (rule, level, subject_kind, subject_id, org_id, period_key, \
            state, cleared_by_data, tolerated_mistake, due_on, detail_zh, detail_en, \
            raised_at, updated_at) \
        SELECT t.rule, t.level, t.subject_kind, t.subject_id, t.org_id, t.period_key, \
            'open', FALSE, FALSE, t.due_on, t.detail_zh, t.detail_en, $2, $2 \
        FROM json_to_recordset($1::json) AS t(rule text, level text, subject_kind text, \
            subject_id bigint, org_id bigint, period_key text, due_on date, \
            detail_zh text, detail_en text) \
        ON CONFLICT (rule, subject_kind, subject_id, period_key) DO NOTHING \
        RETURNING id, level) \
        INSERT INTO warning_events (warning_id, at, kind, actor_user_id, from_level, level, \
            from_state, state, evidence, tolerated_mistake) \
        SELECT id, $2, 'raised', NULL, NULL, level, NULL, 'open', NULL, FALSE FROM ins";
    let mut raised = 0;
    for chunk in rows.chunks(5000) {
        let json = serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let stmt = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            SQL,
            [json.into(), now.into()],
        );
        raised += c.execute_raw(stmt).await?.rows_affected();
    }
    Ok(raised)
}

/// Writes the set columns of `am` to warning `id` only if it is still in
/// `state`; returns whether it was (optimistic concurrency).
pub async fn update_if_state<C: ConnectionTrait>(
    c: &C,
    id: i64,
    state: &str,
    am: warning::ActiveModel,
) -> Result<bool, StoreError> {
    let r = warning::Entity::update_many()
        .set(am)
        .filter(warning::Column::Id.eq(id))
        .filter(warning::Column::State.eq(state))
        .exec(c)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Appends history entries.
pub async fn add_events<C: ConnectionTrait>(
    c: &C,
    rows: Vec<warning_event::ActiveModel>,
) -> Result<(), StoreError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // 11 columns: 2,500 rows stay under SQLite's 32,766 parameters.
        let chunk: Vec<_> = rows.by_ref().take(2500).collect();
        warning_event::Entity::insert_many(chunk)
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<warning::Model>, StoreError> {
    Ok(warning::Entity::find_by_id(id).one(c).await?)
}

/// The history of a warning, oldest first.
pub async fn events<C: ConnectionTrait>(
    c: &C,
    warning_id: i64,
) -> Result<Vec<warning_event::Model>, StoreError> {
    Ok(warning_event::Entity::find()
        .filter(warning_event::Column::WarningId.eq(warning_id))
        .order_by_asc(warning_event::Column::Id)
        .all(c)
        .await?)
}

fn warning_org() -> RelationDef {
    warning::Entity::belongs_to(org::Entity)
        .from(warning::Column::OrgId)
        .to(org::Column::Id)
        .into()
}

/// What one grant of a viewer reaches (DOMAIN.md §9): the warnings about
/// organizations in the subtree at `path` that are at most `blue`/`yellow`/
/// `red` levels below `viewer_depth`, by the warning's level; no
/// `viewer_depth`: every level (platform administrators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub path: String,
    pub viewer_depth: Option<i32>,
    pub blue: i32,
    pub yellow: i32,
    pub red: i32,
}

/// Warnings (joined with their organization) within any of `reaches`;
/// none: nothing.
fn within_reach(reaches: &[Reach]) -> Condition {
    reaches.iter().fold(Condition::any(), |c, r| {
        let mut one = Condition::all().add(in_subtree(org::Column::Path, &r.path));
        if let Some(vd) = r.viewer_depth {
            let upto = |level: &str, n: i32| {
                Condition::all()
                    .add(warning::Column::Level.eq(level))
                    .add(org::Column::Depth.lte(vd.saturating_add(n)))
            };
            one = one.add(
                Condition::any()
                    .add(upto("blue", r.blue))
                    .add(upto("yellow", r.yellow))
                    .add(upto("red", r.red)),
            );
        }
        c.add(one)
    })
}

/// Filters of a warning list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub level: Option<String>,
    pub rule: Option<String>,
    pub states: Option<Vec<String>>,
    /// Keyset cursor: only warnings with a smaller id (newest first).
    pub before_id: Option<i64>,
}

/// Warnings within any of `reaches`, newest first, each with its
/// organization.
pub async fn list<C: ConnectionTrait>(
    c: &C,
    reaches: &[Reach],
    f: &ListFilter,
    limit: u64,
) -> Result<Vec<(warning::Model, org::Model)>, StoreError> {
    if reaches.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = warning::Entity::find()
        .select_also(org::Entity)
        .join(JoinType::InnerJoin, warning_org())
        .filter(within_reach(reaches));
    if let Some(l) = &f.level {
        q = q.filter(warning::Column::Level.eq(l.as_str()));
    }
    if let Some(r) = &f.rule {
        q = q.filter(warning::Column::Rule.eq(r.as_str()));
    }
    if let Some(s) = &f.states {
        q = q.filter(warning::Column::State.is_in(s.iter().map(String::as_str)));
    }
    if let Some(b) = f.before_id {
        q = q.filter(warning::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(warning::Column::Id)
        .limit(limit)
        .all(c)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(w, o)| o.map(|o| (w, o)))
        .collect())
}

/// Live warnings counted per organization path, level and rule.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SummaryRow {
    pub path: String,
    pub level: String,
    pub rule: String,
    pub n: i64,
}

/// Live (open or acknowledged) warnings within `reaches`, grouped by
/// organization, level and rule.
pub async fn live_summary<C: ConnectionTrait>(
    c: &C,
    reaches: &[Reach],
) -> Result<Vec<SummaryRow>, StoreError> {
    if reaches.is_empty() {
        return Ok(Vec::new());
    }
    Ok(warning::Entity::find()
        .select_only()
        .column(org::Column::Path)
        .column(warning::Column::Level)
        .column(warning::Column::Rule)
        .column_as(
            Expr::col((warning::Entity, warning::Column::Id)).count(),
            "n",
        )
        .join(JoinType::InnerJoin, warning_org())
        .filter(within_reach(reaches))
        .filter(warning::Column::State.is_in(LIVE_STATES.iter().copied()))
        .group_by(org::Column::Path)
        .group_by(warning::Column::Level)
        .group_by(warning::Column::Rule)
        .into_model::<SummaryRow>()
        .all(c)
        .await?)
}

/// Live warnings within `reaches` that have not changed since
/// `since` (they were live the whole time after it).
pub async fn live_unchanged_since<C: ConnectionTrait>(
    c: &C,
    reaches: &[Reach],
    since: DateTime<Utc>,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    if reaches.is_empty() {
        return Ok(0);
    }
    Ok(warning::Entity::find()
        .join(JoinType::InnerJoin, warning_org())
        .filter(within_reach(reaches))
        .filter(warning::Column::State.is_in(LIVE_STATES.iter().copied()))
        .filter(warning::Column::UpdatedAt.lt(since))
        .count(c)
        .await?)
}

/// One step of a warning's history, as the trend chart replays it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StateStep {
    pub warning_id: i64,
    pub at: DateTime<Utc>,
    pub state: String,
}

/// The whole history (state after each event) of the warnings in the
/// `reaches` that changed at or after `since`, by warning then time.
pub async fn steps_of_changed_since<C: ConnectionTrait>(
    c: &C,
    reaches: &[Reach],
    since: DateTime<Utc>,
) -> Result<Vec<StateStep>, StoreError> {
    if reaches.is_empty() {
        return Ok(Vec::new());
    }
    let changed = Query::select()
        .column((warning::Entity, warning::Column::Id))
        .from(warning::Entity)
        .inner_join(
            org::Entity,
            Expr::col((org::Entity, org::Column::Id))
                .equals((warning::Entity, warning::Column::OrgId)),
        )
        .cond_where(
            Condition::all()
                .add(within_reach(reaches))
                .add(warning::Column::UpdatedAt.gte(since)),
        )
        .to_owned();
    Ok(warning_event::Entity::find()
        .select_only()
        .column(warning_event::Column::WarningId)
        .column(warning_event::Column::At)
        .column(warning_event::Column::State)
        .filter(warning_event::Column::WarningId.in_subquery(changed))
        .order_by_asc(warning_event::Column::WarningId)
        .order_by_asc(warning_event::Column::Id)
        .into_model::<StateStep>()
        .all(c)
        .await?)
}

/// The override in force for each organization that has one (the latest row
/// of each), for `org_ids` or for every organization when `None`.
pub async fn latest_overrides<C: ConnectionTrait>(
    c: &C,
    org_ids: Option<&[i64]>,
) -> Result<Vec<threshold_override::Model>, StoreError> {
    let mut q = threshold_override::Entity::find();
    if let Some(ids) = org_ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        q = q.filter(threshold_override::Column::OrgId.is_in(ids.to_vec()));
    }
    let rows = q
        .order_by_asc(threshold_override::Column::Id)
        .all(c)
        .await?;
    let mut latest: std::collections::BTreeMap<i64, threshold_override::Model> =
        std::collections::BTreeMap::new();
    for r in rows {
        latest.insert(r.org_id, r);
    }
    Ok(latest.into_values().collect())
}

/// Appends a new override of an organization (the previous ones stay).
pub async fn insert_override<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    overrides: serde_json::Value,
    changed_by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<threshold_override::Model, StoreError> {
    use sea_orm::{ActiveModelTrait, Set};
    Ok(threshold_override::ActiveModel {
        org_id: Set(org_id),
        overrides: Set(overrides),
        changed_by: Set(changed_by),
        at: Set(at),
        ..Default::default()
    }
    .insert(c)
    .await?)
}

// ---------------------------------------------------------------------------
// Bulk loading for the sweep benchmark
// ---------------------------------------------------------------------------

/// An organization row for [`bulk_insert_orgs`], with its id given.
#[derive(Debug, Clone)]
pub struct BulkOrg {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub setting: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub depth: i32,
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
}

/// Inserts organizations with their ids and paths given, several hundred
/// rows per statement (for benchmarks on an empty database; the app's
/// `create_org` is the way in otherwise). On PostgreSQL the id sequence is
/// moved past the largest id afterwards.
pub async fn bulk_insert_orgs<C: ConnectionTrait>(
    c: &C,
    rows: &[BulkOrg],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use org::Column as O;
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(org::Entity).columns([
            O::Id,
            O::Code,
            O::Name,
            O::Kind,
            O::Setting,
            O::ParentId,
            O::Path,
            O::Depth,
            O::Status,
            O::HasCommittee,
            O::CommitteeElectedOn,
            O::CreatedAt,
            O::UpdatedAt,
        ]);
        for r in chunk {
            q.values([
                r.id.into(),
                r.code.clone().into(),
                r.name.clone().into(),
                r.kind.clone().into(),
                r.setting.clone().into(),
                r.parent_id.into(),
                r.path.clone().into(),
                r.depth.into(),
                "active".into(),
                r.has_committee.into(),
                r.committee_elected_on.into(),
                now.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        c.execute(&q).await?;
    }
    if c.get_database_backend() == sea_orm::DbBackend::Postgres {
        c.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('orgs', 'id'), (SELECT MAX(id) FROM orgs))",
        )
        .await?;
    }
    Ok(())
}

/// A member row for [`bulk_insert_members`]: only what the organization
/// rules read is varied; the personal columns get fixed placeholders.
#[derive(Debug, Clone, Copy)]
pub struct BulkMember {
    pub org_id: i64,
    pub stage: &'static str,
    /// Distinct per member (it feeds the unique blind index of active members).
    pub seq: u64,
}

/// Inserts synthetic members several hundred rows per statement (for
/// benchmarks only: the ID columns hold placeholders, not encrypted numbers).
pub async fn bulk_insert_members<C: ConnectionTrait>(
    c: &C,
    rows: &[BulkMember],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use member::Column as M;
    let birth = NaiveDate::from_ymd_opt(1980, 1, 1);
    let full_on = NaiveDate::from_ymd_opt(2010, 1, 1);
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(member::Entity).columns([
            M::Uid,
            M::OrgId,
            M::Name,
            M::IdEnc,
            M::IdBidx,
            M::IdMasked,
            M::BirthDate,
            M::Sex,
            M::Ethnicity,
            M::DuesCategory,
            M::Stage,
            M::AppliedOn,
            M::IsMobile,
            M::Status,
            M::CreatedAt,
            M::UpdatedAt,
        ]);
        for r in chunk {
            let uid = uuid::Uuid::from_u64_pair(0x6462_656e_6368, r.seq);
            q.values([
                uid.into(),
                r.org_id.into(),
                "测试".into(),
                vec![0u8; 1].into(),
                format!("bench{}", r.seq).into(),
                "***".into(),
                birth.into(),
                "male".into(),
                "汉族".into(),
                "employed".into(),
                r.stage.into(),
                full_on.into(),
                false.into(),
                "active".into(),
                now.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        c.execute(&q).await?;
    }
    Ok(())
}

/// The baseline of the sweep benchmark: one plain pass over the same rows
/// the sweep reads (every organization, and the member counts per
/// organization and stage), returning how many rows came back.
pub async fn plain_pass<C: ConnectionTrait>(c: &C) -> Result<(u64, u64), StoreError> {
    let orgs = org_rule_select()
        .into_model::<OrgRuleRow>()
        .all(c)
        .await?
        .len() as u64;
    let counts = member::Entity::find()
        .select_only()
        .column(member::Column::OrgId)
        .column(member::Column::Stage)
        .column_as(Expr::col(member::Column::Id).count(), "n")
        .filter(member::Column::Status.eq("active"))
        .filter(member::Column::Stage.is_in(COUNTED_STAGES.iter().copied()))
        .group_by(member::Column::OrgId)
        .group_by(member::Column::Stage)
        .into_model::<StageCount>()
        .all(c)
        .await?
        .len() as u64;
    Ok((orgs, counts))
}
