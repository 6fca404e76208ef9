//! Member registry use cases: register, read (audited), list (masked),
//! search by exact ID number within the actor's subtree.

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::FieldError;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{
    Education, MemberDraft, MemberStatus, Sex, Stage, StageDates, ValidMember, validate_member,
};
use dangjian_domain::resident_id::{ResidentId, mask_phone};
use dangjian_store::entities::{member, member_event, org};
use dangjian_store::repo::{audit, members as repo, orgs as orepo};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, Set};
use serde::Serialize;

use crate::orgs::OrgView;
use crate::{Actor, App, AppError, Keyring};

/// Associated data binding each encrypted column (see store::crypto).
pub const AAD_ID: &str = "members.id_number";
pub const AAD_PHONE: &str = "members.phone";
pub const AAD_EVENT: &str = "member_events.detail";
/// Blind-index domain of resident ID numbers.
pub const BIDX_ID: &str = "resident_id";

/// Mask of an ID number kept for lists: three leading and two trailing
/// characters. Birth date and sex are stored apart, so the mask must hide
/// everything else (DOMAIN.md §13).
pub fn mask_id_for_list(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 6 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    format!(
        "{}{}{}",
        chars[..3].iter().collect::<String>(),
        "*".repeat(n - 5),
        chars[n - 2..].iter().collect::<String>()
    )
}

/// A member in a list: no sensitive field in clear.
#[derive(Debug, Clone, Serialize)]
pub struct MemberSummary {
    pub id: i64,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub stage: Stage,
    pub status: MemberStatus,
    pub id_number_masked: String,
    pub phone_masked: Option<String>,
    pub is_mobile: bool,
    pub org_id: i64,
}

impl MemberSummary {
    pub fn from_model(m: &member::Model) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            sex: Sex::parse(&m.sex).unwrap_or(Sex::Male),
            birth_date: m.birth_date,
            stage: Stage::parse(&m.stage).unwrap_or(Stage::Applicant),
            status: MemberStatus::parse(&m.status).unwrap_or(MemberStatus::Active),
            id_number_masked: m.id_masked.clone(),
            phone_masked: m.phone_masked.clone(),
            is_mobile: m.is_mobile,
            org_id: m.org_id,
        }
    }
}

/// One archive event of a member.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// A member's full record. `id_number` and `phone` are in clear only when
/// `sensitive_visible` is true; that read is written to the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub summary: MemberSummary,
    pub id_number: String,
    pub phone: Option<String>,
    pub ethnicity: String,
    pub education: Option<Education>,
    pub dues_category: DuesCategory,
    pub stage_dates: StageDates,
    pub org: OrgView,
    pub sensitive_visible: bool,
    pub events: Vec<EventView>,
}

/// One page of a list with the cursor of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Registration row ready to insert (used by single registration and import).
pub(crate) fn build_row(
    app: &App,
    v: &ValidMember,
    org_id: i64,
    now: DateTime<Utc>,
) -> Result<member::ActiveModel, AppError> {
    let bidx = app.keys.blind_index(BIDX_ID, v.id.as_str());
    let mut row =
        member::ActiveModel::from(member_model(&app.keys, v, 0, bidx, org_id, now)?).reset_all();
    row.id = NotSet;
    Ok(row)
}

/// The member row of a new registration with its id (the roster import
/// reserves ids, see `roster_pipeline`) and the blind index of its ID
/// number: ID number and phone encrypted, masks for lists.
pub(crate) fn member_model(
    keys: &Keyring,
    v: &ValidMember,
    id: i64,
    id_bidx: String,
    org_id: i64,
    now: DateTime<Utc>,
) -> Result<member::Model, AppError> {
    let number = v.id.as_str();
    let phone_enc = match &v.phone {
        Some(p) => Some(keys.encrypt(p.as_bytes(), AAD_PHONE)?),
        None => None,
    };
    Ok(member::Model {
        id,
        uid: uuid::Uuid::now_v7(),
        org_id,
        group_id: None,
        name: v.name.clone(),
        id_enc: keys.encrypt(number.as_bytes(), AAD_ID)?,
        id_bidx,
        id_masked: mask_id_for_list(number),
        birth_date: v.birth_date,
        sex: v.sex.as_str().into(),
        ethnicity: v.ethnicity.clone(),
        phone_masked: v.phone.as_deref().map(mask_phone),
        phone_enc,
        education: v.education.map(|e| e.as_str().to_string()),
        dues_category: v.dues_category.as_str().into(),
        stage: v.stage.as_str().into(),
        applied_on: v.stage_dates.applied_on,
        activist_on: v.stage_dates.activist_on,
        development_target_on: v.stage_dates.development_target_on,
        probationary_on: v.stage_dates.probationary_on,
        full_on: v.stage_dates.full_on,
        is_mobile: v.mobile,
        status: MemberStatus::Active.as_str().into(),
        created_at: now,
        updated_at: now,
    })
}

/// The detail of a registration event, as stored (encrypted) and committed
/// to by its ledger leaf.
pub(crate) fn registered_detail(v: &ValidMember, source: &str) -> String {
    // One serialization, no intermediate `serde_json::Value`: the import
    // builds a million of these.
    #[derive(Serialize)]
    struct Detail<'a> {
        source: &'a str,
        stage: &'a str,
        stage_dates: &'a StageDates,
    }
    serde_json::to_string(&Detail {
        source,
        stage: v.stage.as_str(),
        stage_dates: &v.stage_dates,
    })
    .unwrap_or_default()
}

/// The archive event recorded when a member is registered.
pub(crate) fn registered_event(
    app: &App,
    v: &ValidMember,
    member_id: i64,
    org_id: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
    source: &str,
) -> Result<member_event::ActiveModel, AppError> {
    let detail = registered_detail(v, source);
    Ok(member_event::ActiveModel {
        member_id: Set(member_id),
        org_id: Set(org_id),
        at: Set(now),
        kind: Set("registered".into()),
        actor_user_id: Set(actor),
        detail_enc: Set(app.keys.encrypt(detail.as_bytes(), AAD_EVENT)?),
        ..Default::default()
    })
}

/// The conflict raised when a person already has an active registration;
/// names the other organization only when the actor may see it.
pub(crate) fn duplicate_conflict(actor: &Actor, existing: Option<&(String, String)>) -> AppError {
    match existing {
        Some((path, name)) if actor.can_view_org(path) => AppError::Conflict(FieldError::new(
            "id_number",
            "duplicate_person",
            format!("此人已在「{name}」登记为在册人员，一人只能在一个支部登记（DOMAIN.md §3）"),
            format!(
                "this person already has an active registration in \"{name}\"; one person, one branch (DOMAIN.md §3)"
            ),
        )),
        _ => AppError::Conflict(FieldError::new(
            "id_number",
            "duplicate_person",
            "此人已在其他组织登记为在册人员，一人只能在一个支部登记（DOMAIN.md §3）",
            "this person already has an active registration elsewhere; one person, one branch (DOMAIN.md §3)",
        )),
    }
}

impl App {
    pub(crate) async fn active_registration<C: ConnectionTrait>(
        &self,
        c: &C,
        id: &ResidentId,
    ) -> Result<Option<(String, String)>, AppError> {
        let bidx = self.keys.blind_index(BIDX_ID, id.as_str());
        for m in repo::find_by_bidx(c, &bidx).await? {
            if m.status == MemberStatus::Active.as_str() {
                let name = orepo::get(c, m.org_id)
                    .await?
                    .map(|o| o.name)
                    .unwrap_or_default();
                return Ok(Some((m.org_path, name)));
            }
        }
        Ok(None)
    }

    /// Registers a member in the branch `org_code`.
    pub async fn register_member(
        &self,
        actor: &Actor,
        org_code: &str,
        draft: MemberDraft,
    ) -> Result<MemberSummary, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        check_member_org(&o)?;
        let v = validate_member(&draft, self.today())?;
        let (_writer, tx) = self.begin_write().await?;
        let row = self.register_in(&tx, actor, &o, &v, "form").await?;
        tx.commit().await?;
        Ok(MemberSummary::from_model(&row))
    }

    /// Registers a validated member in branch `o` inside the caller's
    /// transaction: the row, its `registered` archive event and ledger leaf,
    /// the warning rules and the audit entry.
    pub(crate) async fn register_in<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        o: &org::Model,
        v: &ValidMember,
        source: &str,
    ) -> Result<member::Model, AppError> {
        let now = self.clock.now();
        if let Some(existing) = self.active_registration(tx, &v.id).await? {
            return Err(duplicate_conflict(actor, Some(&existing)));
        }
        let row = repo::insert(tx, build_row(self, v, o.id, now)?)
            .await
            .map_err(|e| {
                // A concurrent registration of the same person trips the unique index.
                if e.to_string().to_lowercase().contains("unique") {
                    duplicate_conflict(actor, None)
                } else {
                    e.into()
                }
            })?;
        let event = repo::add_event(
            tx,
            registered_event(self, v, row.id, o.id, actor.audit_id(), now, source)?,
        )
        .await?;
        self.ledger_append_event(tx, event).await?;
        self.rules_after_member_write(tx, o, &[crate::warnings::member_facts_of(&row)])
            .await?;
        audit::append(
            tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "member.register".into(),
                target_kind: "member".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"stage": v.stage.as_str()}),
            },
            now,
        )
        .await?;
        Ok(row)
    }

    /// Moves a member to the next stage on `on` inside the caller's
    /// transaction (DOMAIN.md §3: every stage change is an archive event with
    /// its date and decision). Writes the row, a `stage_changed` event with
    /// its ledger leaf, and re-evaluates the branch's warning rules. The
    /// caller has authorized the actor and checked the §4 rules.
    pub(crate) async fn change_stage_in<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        m: &member::Model,
        to: Stage,
        on: NaiveDate,
        decision: serde_json::Value,
    ) -> Result<member::Model, AppError> {
        let from = Stage::parse(&m.stage)
            .ok_or_else(|| AppError::Internal(format!("member {} has an unknown stage", m.id)))?;
        if m.status != MemberStatus::Active.as_str() || from.next() != Some(to) {
            return Err(AppError::Conflict(FieldError::new(
                "stage",
                "stage_mismatch",
                format!(
                    "此人当前为“{}”，不能转为“{}”",
                    from.label_zh(),
                    to.label_zh()
                ),
                format!(
                    "this person is {}, who cannot become {}",
                    from.label_en().to_lowercase(),
                    to.label_en().to_lowercase()
                ),
            )));
        }
        let dates = StageDates {
            applied_on: m.applied_on,
            activist_on: m.activist_on,
            development_target_on: m.development_target_on,
            probationary_on: m.probationary_on,
            full_on: m.full_on,
        };
        if let Some(prev) = dates.get(from)
            && on < prev
        {
            return Err(AppError::field(
                to.error_field().as_str(),
                "stage_date_order",
                format!(
                    "成为“{}”的日期{on}早于成为“{}”的日期{prev}",
                    to.label_zh(),
                    from.label_zh()
                ),
                format!(
                    "the date of becoming {} ({on}) is before the date of becoming {} ({prev})",
                    to.label_en().to_lowercase(),
                    from.label_en().to_lowercase()
                ),
            ));
        }
        let now = self.clock.now();
        let mut am: member::ActiveModel = m.clone().into();
        am.stage = Set(to.as_str().into());
        match to {
            Stage::Applicant => am.applied_on = Set(Some(on)),
            Stage::Activist => am.activist_on = Set(Some(on)),
            Stage::DevelopmentTarget => am.development_target_on = Set(Some(on)),
            Stage::Probationary => am.probationary_on = Set(Some(on)),
            Stage::Full => am.full_on = Set(Some(on)),
        }
        am.updated_at = Set(now);
        let row = repo::update(tx, am).await?;
        let detail = serde_json::json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "on": on,
            "decision": decision,
        });
        let event = repo::add_event(
            tx,
            member_event::ActiveModel {
                member_id: Set(row.id),
                org_id: Set(row.org_id),
                at: Set(now),
                kind: Set("stage_changed".into()),
                actor_user_id: Set(actor.audit_id()),
                detail_enc: Set(self
                    .keys
                    .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                ..Default::default()
            },
        )
        .await?;
        self.ledger_append_event(tx, event).await?;
        if let Some(o) = orepo::get(tx, row.org_id).await? {
            self.evaluate_org_rules(tx, &o).await?;
            self.evaluate_member_rules(tx, &o, &[crate::warnings::member_facts_of(&row)])
                .await?;
        }
        audit::append(
            tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "member.stage_change".into(),
                target_kind: "member".into(),
                target_id: Some(row.id),
                org_id: Some(row.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"from": from.as_str(), "to": to.as_str()}),
            },
            now,
        )
        .await?;
        Ok(row)
    }

    /// Moves a member to branch `to` inside the caller's transaction
    /// (DOMAIN.md §12: the receiving branch confirmed arrival). The row keeps
    /// its stage and stage dates — a probationary member keeps the probation
    /// dates — and its archive history; a `transferred` event with its
    /// ledger leaf records the move; open workflow runs (an admission in
    /// probation) follow the member; both branches' rules are re-evaluated.
    pub(crate) async fn transfer_member_in<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        m: &member::Model,
        to: &org::Model,
        detail: serde_json::Value,
    ) -> Result<member::Model, AppError> {
        if m.status != MemberStatus::Active.as_str() {
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "not_active",
                "此人不在册，不能转接",
                "this person is not an active member and cannot be transferred",
            )));
        }
        let now = self.clock.now();
        let from_org = m.org_id;
        let mut am: member::ActiveModel = m.clone().into();
        am.org_id = Set(to.id);
        am.group_id = Set(None);
        am.updated_at = Set(now);
        let row = repo::update(tx, am).await?;
        dangjian_store::repo::transfers::move_open_runs(tx, row.id, to.id).await?;
        let event = repo::add_event(
            tx,
            member_event::ActiveModel {
                member_id: Set(row.id),
                org_id: Set(to.id),
                at: Set(now),
                kind: Set("transferred".into()),
                actor_user_id: Set(actor.audit_id()),
                detail_enc: Set(self
                    .keys
                    .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                ..Default::default()
            },
        )
        .await?;
        self.ledger_append_event(tx, event).await?;
        if let Some(from) = orepo::get(tx, from_org).await? {
            self.evaluate_org_rules(tx, &from).await?;
        }
        self.evaluate_org_rules(tx, to).await?;
        self.evaluate_member_rules(tx, to, &[crate::warnings::member_facts_of(&row)])
            .await?;
        audit::append(
            tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "member.transfer".into(),
                target_kind: "member".into(),
                target_id: Some(row.id),
                org_id: Some(to.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"from_org": from_org, "to_org": to.id}),
            },
            now,
        )
        .await?;
        Ok(row)
    }

    /// Marks a member transferred out to another server inside the caller's
    /// transaction (DOMAIN.md §3, §12): status `transferred_out`, a
    /// `transferred_out` event with its ledger leaf, the branch's rules.
    pub(crate) async fn transfer_member_out<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        m: &member::Model,
        detail: serde_json::Value,
    ) -> Result<member::Model, AppError> {
        if m.status != MemberStatus::Active.as_str() {
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "not_active",
                "此人已不在册",
                "this person is no longer an active member",
            )));
        }
        let now = self.clock.now();
        let mut am: member::ActiveModel = m.clone().into();
        am.status = Set(MemberStatus::TransferredOut.as_str().into());
        am.updated_at = Set(now);
        let row = repo::update(tx, am).await?;
        let event = repo::add_event(
            tx,
            member_event::ActiveModel {
                member_id: Set(row.id),
                org_id: Set(row.org_id),
                at: Set(now),
                kind: Set("transferred_out".into()),
                actor_user_id: Set(actor.audit_id()),
                detail_enc: Set(self
                    .keys
                    .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                ..Default::default()
            },
        )
        .await?;
        self.ledger_append_event(tx, event).await?;
        if let Some(o) = orepo::get(tx, row.org_id).await? {
            self.evaluate_org_rules(tx, &o).await?;
        }
        audit::append(
            tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "member.transfer_out".into(),
                target_kind: "member".into(),
                target_id: Some(row.id),
                org_id: Some(row.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({}),
            },
            now,
        )
        .await?;
        Ok(row)
    }

    /// A member's record; 404 when outside the actor's reach (never 403, so
    /// existence does not leak). Reading sensitive fields is audited.
    pub async fn member_detail(&self, actor: &Actor, id: i64) -> Result<MemberDetail, AppError> {
        let m = repo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let own = actor.member_id == Some(m.id);
        if !own && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        let sensitive = own || actor.can_read_sensitive(&o.path);
        let (id_number, phone) = if sensitive {
            let id = self.keys.decrypt_str(&m.id_enc, AAD_ID)?;
            let phone = match &m.phone_enc {
                Some(p) => Some(self.keys.decrypt_str(p, AAD_PHONE)?),
                None => None,
            };
            (id, phone)
        } else {
            (m.id_masked.clone(), m.phone_masked.clone())
        };
        let mut events = Vec::new();
        for e in repo::events(&self.db.conn, m.id).await? {
            let detail = self.keys.decrypt_str(&e.detail_enc, AAD_EVENT)?;
            events.push(EventView {
                at: e.at,
                kind: e.kind,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            });
        }
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: if sensitive { "member.read_sensitive" } else { "member.read" }.into(),
            target_kind: "member".into(),
            target_id: Some(m.id),
            org_id: Some(o.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({"fields": if sensitive { vec!["id_number", "phone", "archive"] } else { vec!["archive"] }}),
        }).await?;
        Ok(MemberDetail {
            summary: MemberSummary::from_model(&m),
            id_number,
            phone,
            ethnicity: m.ethnicity.clone(),
            education: m.education.as_deref().and_then(Education::parse),
            dues_category: DuesCategory::parse(&m.dues_category).unwrap_or(DuesCategory::Employed),
            stage_dates: StageDates {
                applied_on: m.applied_on,
                activist_on: m.activist_on,
                development_target_on: m.development_target_on,
                probationary_on: m.probationary_on,
                full_on: m.full_on,
            },
            org: OrgView::from_model(&o),
            sensitive_visible: sensitive,
            events,
        })
    }

    /// One page of an organization's members, masked.
    pub async fn list_members(
        &self,
        actor: &Actor,
        org_code: &str,
        cursor: Option<&str>,
        limit: u64,
    ) -> Result<Page<MemberSummary>, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let after = match cursor {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                AppError::field(
                    "cursor",
                    "invalid_cursor",
                    "分页游标无效",
                    "cursor is not valid",
                )
            })?),
            None => None,
        };
        let limit = limit.clamp(1, 500);
        let rows = repo::list_by_org(&self.db.conn, o.id, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        let items: Vec<MemberSummary> = rows
            .iter()
            .take(limit as usize)
            .map(MemberSummary::from_model)
            .collect();
        let next_cursor = if more {
            items.last().map(|m| m.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Finds members by exact ID number inside the actor's subtrees.
    pub async fn search_by_id_number(
        &self,
        actor: &Actor,
        id_number: &str,
    ) -> Result<Vec<MemberSummary>, AppError> {
        let id = ResidentId::parse(id_number.trim()).map_err(|e| {
            AppError::Validation(dangjian_domain::ValidationErrors(vec![
                e.to_field_error("id_number"),
            ]))
        })?;
        let bidx = self.keys.blind_index(BIDX_ID, id.as_str());
        let mut out = Vec::new();
        for g in actor.browse_roots() {
            if !actor.can_list_members(&g.org_path) {
                continue;
            }
            for m in repo::find_by_bidx_in_subtree(&self.db.conn, &bidx, &g.org_path).await? {
                out.push(MemberSummary::from_model(&m));
            }
        }
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: "member.search_id".into(),
            target_kind: "member".into(),
            target_id: None,
            org_id: actor.grants.first().map(|g| g.org_id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({"results": out.len()}),
        })
        .await?;
        Ok(out)
    }
}

/// Members are registered in branches (DOMAIN.md §2: groups live inside a branch).
pub(crate) fn check_member_org(o: &org::Model) -> Result<(), AppError> {
    if o.kind != "branch" || o.status != "active" {
        return Err(AppError::field(
            "org",
            "not_a_branch",
            "党员只能登记在正常状态的党支部",
            "members are registered in an active branch",
        ));
    }
    Ok(())
}
