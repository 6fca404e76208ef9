//! Organization use cases: create, rename, move, dissolve, browse, history,
//! and the structural findings of DOMAIN.md §2.

use chrono::NaiveDate;
use dangjian_domain::FieldError;
use dangjian_domain::orgs::{
    OrgKind, OrgSetting, OrgStatus, allowed_child, term_years as term_years_range,
    term_years_allowed, validate_org_code, validate_org_name,
};
use dangjian_store::entities::org;
use dangjian_store::repo::{audit, members as mrepo, orgs as repo};
use serde::Serialize;

use crate::{Actor, App, AppError};

/// An organization as shown to users.
#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub setting: OrgSetting,
    pub parent_id: Option<i64>,
    pub depth: i32,
    pub status: OrgStatus,
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
    /// Term chosen at the election, in years; `None`: the longest allowed.
    pub committee_term_years: Option<i32>,
    #[serde(skip)]
    pub path: String,
}

impl OrgView {
    pub fn from_model(m: &org::Model) -> Self {
        Self {
            id: m.id,
            code: m.code.clone(),
            name: m.name.clone(),
            kind: OrgKind::parse(&m.kind).unwrap_or(OrgKind::Branch),
            setting: OrgSetting::parse(&m.setting).unwrap_or(OrgSetting::Other),
            parent_id: m.parent_id,
            depth: m.depth,
            status: OrgStatus::parse(&m.status).unwrap_or(OrgStatus::Active),
            has_committee: m.has_committee,
            committee_elected_on: m.committee_elected_on,
            committee_term_years: m.committee_term_years,
            path: m.path.clone(),
        }
    }
}

/// Input of a new organization.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewOrgInput {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    #[serde(default = "default_setting")]
    pub setting: OrgSetting,
    pub parent_code: Option<String>,
    #[serde(default)]
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
}

fn default_setting() -> OrgSetting {
    OrgSetting::Other
}

/// An organization with its member counts by stage.
#[derive(Debug, Clone, Serialize)]
pub struct OrgDetail {
    pub org: OrgView,
    pub parent: Option<OrgView>,
    pub children: Vec<OrgView>,
    pub stage_counts: Vec<(String, i64)>,
    pub members_in_subtree: u64,
}

fn field_errors(errs: Vec<FieldError>) -> AppError {
    AppError::Validation(dangjian_domain::ValidationErrors(errs))
}

impl App {
    /// Finds an organization by code that the actor may view; 404 otherwise,
    /// so users cannot learn which codes exist outside their subtree.
    pub async fn visible_org(&self, actor: &Actor, code: &str) -> Result<org::Model, AppError> {
        let o = repo::by_code(&self.db.conn, code)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if actor.can_view_org(&o.path) {
            Ok(o)
        } else {
            Err(AppError::NotFound("organization"))
        }
    }

    /// Creates an organization under its parent (or a root, for administrators
    /// of a fresh installation via the CLI).
    pub async fn create_org(&self, actor: &Actor, input: NewOrgInput) -> Result<OrgView, AppError> {
        // Who may act comes first: a user who may not manage the parent
        // learns nothing about the input's validity.
        let parent = match &input.parent_code {
            Some(pc) => Some(self.visible_org(actor, pc).await.map_err(|_| {
                AppError::field(
                    "parent_code",
                    "unknown_org",
                    "上级组织不存在或无权访问",
                    "parent organization not found or not accessible",
                )
            })?),
            None => None,
        };
        match &parent {
            Some(p) => {
                if !actor.can_manage_orgs(&p.path) {
                    return Err(AppError::Forbidden);
                }
                if p.status != "active" {
                    return Err(AppError::field(
                        "parent_code",
                        "parent_dissolved",
                        "上级组织已撤销",
                        "parent organization is dissolved",
                    ));
                }
                let pk = OrgKind::parse(&p.kind).unwrap_or(OrgKind::Branch);
                if !allowed_child(pk, input.kind) {
                    return Err(AppError::field(
                        "kind",
                        "kind_not_allowed",
                        format!(
                            "{}下不能设立{}（DOMAIN.md §2）",
                            pk.label_zh(),
                            input.kind.label_zh()
                        ),
                        format!(
                            "a {} cannot contain a {} (DOMAIN.md §2)",
                            pk.label_en(),
                            input.kind.label_en()
                        ),
                    ));
                }
            }
            None => {
                if actor.user_id != 0 {
                    return Err(AppError::Forbidden);
                }
            }
        }
        let mut errs = Vec::new();
        if let Err(e) = validate_org_code(&input.code) {
            errs.push(e);
        }
        let name = match validate_org_name(&input.name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(e);
                String::new()
            }
        };
        if !errs.is_empty() {
            return Err(field_errors(errs));
        }
        if repo::by_code(&self.db.conn, &input.code).await?.is_some() {
            return Err(AppError::Conflict(FieldError::new(
                "code",
                "code_taken",
                "组织代码已存在",
                "organization code already exists",
            )));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let o = repo::insert(
            &tx,
            repo::NewOrg {
                code: input.code.clone(),
                name,
                kind: input.kind.as_str().into(),
                setting: input.setting.as_str().into(),
                parent,
                has_committee: input.has_committee,
                committee_elected_on: input.committee_elected_on,
            },
            now,
        )
        .await?;
        record_change(&tx, actor, o.id, "created", serde_json::json!({"code": o.code, "name": o.name, "kind": o.kind, "parent_id": o.parent_id}), now).await?;
        self.evaluate_org_rules(&tx, &o).await?;
        tx.commit().await?;
        Ok(OrgView::from_model(&o))
    }

    /// Renames an organization; the old name stays in its history.
    pub async fn rename_org(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
    ) -> Result<OrgView, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_manage_orgs(&o.path) {
            return Err(AppError::Forbidden);
        }
        let name = validate_org_name(name).map_err(|e| field_errors(vec![e]))?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let old = o.name.clone();
        let o = repo::rename(&tx, o, name, now).await?;
        record_change(
            &tx,
            actor,
            o.id,
            "renamed",
            serde_json::json!({"from": old, "to": o.name}),
            now,
        )
        .await?;
        tx.commit().await?;
        // Grants and cached meetings carry the organization's path and name.
        self.callers_changed();
        self.meetings_changed();
        Ok(OrgView::from_model(&o))
    }

    /// Moves an organization (with its subtree) under another parent.
    pub async fn move_org(
        &self,
        actor: &Actor,
        code: &str,
        new_parent_code: &str,
    ) -> Result<OrgView, AppError> {
        let o = self.visible_org(actor, code).await?;
        let np = self
            .visible_org(actor, new_parent_code)
            .await
            .map_err(|_| {
                AppError::field(
                    "parent_code",
                    "unknown_org",
                    "新的上级组织不存在或无权访问",
                    "new parent not found or not accessible",
                )
            })?;
        let old_parent_path = match o.parent_id {
            Some(pid) => repo::get(&self.db.conn, pid).await?.map(|p| p.path),
            None => None,
        };
        let may = actor.can_manage_orgs(&np.path)
            && old_parent_path
                .as_deref()
                .is_some_and(|p| actor.can_manage_orgs(p));
        if !may {
            return Err(AppError::Forbidden);
        }
        if np.path.starts_with(&o.path) {
            return Err(AppError::field(
                "parent_code",
                "cycle",
                "不能移到自己的下级组织之下",
                "cannot move an organization under its own subtree",
            ));
        }
        let (pk, ck) = (
            OrgKind::parse(&np.kind).unwrap_or(OrgKind::Branch),
            OrgKind::parse(&o.kind).unwrap_or(OrgKind::Branch),
        );
        if !allowed_child(pk, ck) {
            return Err(AppError::field(
                "parent_code",
                "kind_not_allowed",
                format!(
                    "{}下不能设立{}（DOMAIN.md §2）",
                    pk.label_zh(),
                    ck.label_zh()
                ),
                format!(
                    "a {} cannot contain a {} (DOMAIN.md §2)",
                    pk.label_en(),
                    ck.label_en()
                ),
            ));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        repo::move_subtree(&tx, &o, &np, now).await?;
        record_change(
            &tx,
            actor,
            o.id,
            "moved",
            serde_json::json!({"from_parent": o.parent_id, "to_parent": np.id}),
            now,
        )
        .await?;
        tx.commit().await?;
        // Grants and cached meetings carry the organization's path and name.
        self.callers_changed();
        self.meetings_changed();
        let o = repo::get(&self.db.conn, o.id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        Ok(OrgView::from_model(&o))
    }

    /// Dissolves an organization: archived, never deleted. Refused while it
    /// still has active members or active child organizations.
    pub async fn dissolve_org(&self, actor: &Actor, code: &str) -> Result<OrgView, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_manage_orgs(&o.path) {
            return Err(AppError::Forbidden);
        }
        let active_children = repo::children(&self.db.conn, o.id)
            .await?
            .iter()
            .filter(|c| c.status == "active")
            .count();
        let members = mrepo::count_in_subtree(&self.db.conn, &o.path).await?;
        if active_children > 0 || members > 0 {
            return Err(AppError::Conflict(FieldError::new(
                "code",
                "not_empty",
                format!("该组织仍有 {active_children} 个下级组织和 {members} 名在册人员，不能撤销"),
                format!(
                    "the organization still has {active_children} active child organizations and {members} active members"
                ),
            )));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let o = repo::dissolve(&tx, o, now).await?;
        record_change(&tx, actor, o.id, "dissolved", serde_json::json!({}), now).await?;
        tx.commit().await?;
        // Grants and cached meetings carry the organization's path and name.
        self.callers_changed();
        self.meetings_changed();
        Ok(OrgView::from_model(&o))
    }

    /// Records that an organization's committee was elected on `elected_on`
    /// (换届, a new term), or that it has none (`None`). Kept in its history;
    /// the organization rules are evaluated in the same transaction, so an
    /// overdue-term or committee-required warning clears.
    pub async fn set_committee(
        &self,
        actor: &Actor,
        code: &str,
        elected_on: Option<NaiveDate>,
        term_years: Option<u32>,
    ) -> Result<OrgView, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_manage_orgs(&o.path) {
            return Err(AppError::Forbidden);
        }
        let term_years = chosen_term(&o, elected_on, term_years)?;
        if elected_on.is_some_and(|d| d > self.today()) {
            return Err(AppError::field(
                "committee_elected_on",
                "date_in_future",
                "选举日期晚于今天",
                "the election date is after today",
            ));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let from = o.committee_elected_on;
        let o =
            repo::set_committee(&tx, o, elected_on.is_some(), elected_on, term_years, now).await?;
        record_change(
            &tx,
            actor,
            o.id,
            "committee",
            serde_json::json!({"from": from, "to": elected_on, "term_years": term_years}),
            now,
        )
        .await?;
        self.evaluate_org_rules(&tx, &o).await?;
        tx.commit().await?;
        Ok(OrgView::from_model(&o))
    }

    /// The organizations a user starts browsing from.
    pub async fn org_roots(&self, actor: &Actor) -> Result<Vec<OrgView>, AppError> {
        let ids: Vec<i64> = actor.browse_roots().iter().map(|g| g.org_id).collect();
        let mut v: Vec<OrgView> = repo::by_ids(&self.db.conn, &ids)
            .await?
            .iter()
            .map(OrgView::from_model)
            .collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(v)
    }

    /// An organization with its parent (if visible), children and counts.
    pub async fn org_detail(&self, actor: &Actor, code: &str) -> Result<OrgDetail, AppError> {
        let o = self.visible_org(actor, code).await?;
        let parent = match o.parent_id {
            Some(pid) => repo::get(&self.db.conn, pid)
                .await?
                .filter(|p| actor.can_view_org(&p.path))
                .map(|p| OrgView::from_model(&p)),
            None => None,
        };
        let children = if actor.can_list_members(&o.path) {
            repo::children(&self.db.conn, o.id)
                .await?
                .iter()
                .map(OrgView::from_model)
                .collect()
        } else {
            Vec::new()
        };
        let stage_counts = mrepo::stage_counts(&self.db.conn, o.id).await?;
        let members_in_subtree = mrepo::count_in_subtree(&self.db.conn, &o.path).await?;
        Ok(OrgDetail {
            org: OrgView::from_model(&o),
            parent,
            children,
            stage_counts,
            members_in_subtree,
        })
    }

    /// The subtree under `code` down to `levels` levels below it.
    pub async fn org_subtree(
        &self,
        actor: &Actor,
        code: &str,
        levels: i32,
    ) -> Result<Vec<OrgView>, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_list_members(&o.path) {
            return Ok(vec![OrgView::from_model(&o)]);
        }
        Ok(
            repo::subtree(&self.db.conn, &o.path, Some(o.depth + levels), 5000)
                .await?
                .iter()
                .map(OrgView::from_model)
                .collect(),
        )
    }

    /// History of an organization, oldest first.
    pub async fn org_history(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<dangjian_store::entities::org_history::Model>, AppError> {
        let o = self.visible_org(actor, code).await?;
        Ok(repo::history(&self.db.conn, o.id).await?)
    }
}

/// Records a change of an organization in its history and in the audit log.
pub(crate) async fn record_change<C: sea_orm::ConnectionTrait>(
    tx: &C,
    actor: &Actor,
    org_id: i64,
    action: &str,
    detail: serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    repo::record_history(tx, org_id, actor.audit_id(), action, detail.clone(), now).await?;
    audit::append(
        tx,
        audit::Entry {
            user_id: actor.audit_id(),
            action: format!("org.{action}"),
            target_kind: "org".into(),
            target_id: Some(org_id),
            org_id: Some(org_id),
            remote_addr: actor.remote_addr.clone(),
            detail,
        },
        now,
    )
    .await?;
    Ok(())
}

/// The term chosen at an election, checked against what the organization
/// may have (DOMAIN.md §2: 3–5 years for a grassroots committee); none
/// given, or no committee: `None`, the longest allowed.
pub(crate) fn chosen_term(
    o: &org::Model,
    elected_on: Option<NaiveDate>,
    term_years: Option<u32>,
) -> Result<Option<i32>, AppError> {
    match (elected_on, term_years) {
        (Some(_), Some(y)) => {
            let kind = OrgKind::parse(&o.kind).unwrap_or(OrgKind::Branch);
            let setting = OrgSetting::parse(&o.setting).unwrap_or(OrgSetting::Other);
            if !term_years_allowed(kind, setting, y) {
                let (min, max) = term_years_range(kind, setting);
                let (zh, en) = if min == max {
                    (format!("{min}"), format!("{min}"))
                } else {
                    (format!("{min}–{max}"), format!("{min}–{max}"))
                };
                return Err(AppError::field(
                    "committee_term_years",
                    "out_of_range",
                    format!("该组织的任期为 {zh} 年"),
                    format!("this organization's term is {en} years"),
                ));
            }
            Ok(i32::try_from(y).ok())
        }
        _ => Ok(None),
    }
}
