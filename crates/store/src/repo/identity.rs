//! Users, role grants, web sessions and API tokens (secrets stored only as SHA-256).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationDef, Set,
};

use crate::direct::Time;
use crate::entities::{api_token, login_throttle, org, role_grant, session, user};
use crate::{Db, StoreError};

pub async fn insert_user<C: ConnectionTrait>(
    c: &C,
    login: &str,
    password_hash: &str,
    display_name: &str,
    member_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<user::Model, StoreError> {
    Ok(user::ActiveModel {
        login: Set(login.to_string()),
        password_hash: Set(password_hash.to_string()),
        display_name: Set(display_name.to_string()),
        member_id: Set(member_id),
        disabled: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(c)
    .await?)
}

pub async fn user_by_login<C: ConnectionTrait>(
    c: &C,
    login: &str,
) -> Result<Option<user::Model>, StoreError> {
    Ok(user::Entity::find()
        .filter(user::Column::Login.eq(login))
        .one(c)
        .await?)
}

pub async fn user_by_id<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<user::Model>, StoreError> {
    Ok(user::Entity::find_by_id(id).one(c).await?)
}

pub async fn set_password<C: ConnectionTrait>(
    c: &C,
    u: user::Model,
    hash: &str,
) -> Result<(), StoreError> {
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash.to_string());
    am.update(c).await?;
    Ok(())
}

pub async fn grant<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    org_id: i64,
    role: &str,
) -> Result<(), StoreError> {
    role_grant::ActiveModel {
        user_id: Set(user_id),
        org_id: Set(org_id),
        role: Set(role.to_string()),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(())
}

/// A role grant with the organization it is held at.
#[derive(Debug, Clone, FromQueryResult)]
pub struct GrantRow {
    pub role: String,
    pub org_id: i64,
    pub org_path: String,
    pub org_name: String,
    pub org_code: String,
}

fn grant_org() -> RelationDef {
    role_grant::Entity::belongs_to(org::Entity)
        .from(role_grant::Column::OrgId)
        .to(org::Column::Id)
        .into()
}

pub async fn grants_of<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
) -> Result<Vec<GrantRow>, StoreError> {
    Ok(role_grant::Entity::find()
        .select_only()
        .column(role_grant::Column::Role)
        .column(role_grant::Column::OrgId)
        .column_as(org::Column::Path, "org_path")
        .column_as(org::Column::Name, "org_name")
        .column_as(org::Column::Code, "org_code")
        .join(JoinType::InnerJoin, grant_org())
        .filter(role_grant::Column::UserId.eq(user_id))
        .order_by_asc(role_grant::Column::Id)
        .into_model::<GrantRow>()
        .all(c)
        .await?)
}

pub async fn insert_session<C: ConnectionTrait>(
    c: &C,
    id_hash: &str,
    user_id: i64,
    csrf: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    session::ActiveModel {
        id_hash: Set(id_hash.to_string()),
        user_id: Set(user_id),
        csrf: Set(csrf.to_string()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked: Set(false),
    }
    .insert(c)
    .await?;
    Ok(())
}

pub async fn session<C: ConnectionTrait>(
    c: &C,
    id_hash: &str,
) -> Result<Option<session::Model>, StoreError> {
    Ok(session::Entity::find_by_id(id_hash.to_string())
        .one(c)
        .await?)
}

pub async fn revoke_session<C: ConnectionTrait>(c: &C, id_hash: &str) -> Result<(), StoreError> {
    session::Entity::update_many()
        .col_expr(
            session::Column::Revoked,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(session::Column::IdHash.eq(id_hash))
        .exec(c)
        .await?;
    Ok(())
}

/// Stores an API token by its hash; returns its id (the `{id}` of the
/// token's text, see `app::identity::create_token`).
pub async fn insert_token<C: ConnectionTrait>(
    c: &C,
    token_hash: &str,
    user_id: i64,
    name: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<i64, StoreError> {
    let t = api_token::ActiveModel {
        token_hash: Set(token_hash.to_string()),
        user_id: Set(user_id),
        name: Set(name.to_string()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked: Set(false),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(t.id)
}

pub async fn token<C: ConnectionTrait>(
    c: &C,
    token_hash: &str,
) -> Result<Option<api_token::Model>, StoreError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash))
        .one(c)
        .await?)
}

/// Revokes every live session of a user; returns how many.
pub async fn revoke_user_sessions<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
) -> Result<u64, StoreError> {
    let r = session::Entity::update_many()
        .col_expr(
            session::Column::Revoked,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Revoked.eq(false))
        .exec(c)
        .await?;
    Ok(r.rows_affected)
}

/// The failed sign-in counter under `key` ("login:NAME" or "addr:IP").
pub async fn throttle<C: ConnectionTrait>(
    c: &C,
    key: &str,
) -> Result<Option<login_throttle::Model>, StoreError> {
    Ok(login_throttle::Entity::find_by_id(key.to_string())
        .one(c)
        .await?)
}

/// Stores the counter under `key` (insert or replace).
pub async fn put_throttle<C: ConnectionTrait>(
    c: &C,
    key: &str,
    failures: i32,
    last_failure_at: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::OnConflict;
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_string()),
        failures: Set(failures),
        last_failure_at: Set(last_failure_at),
        locked_until: Set(locked_until),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .update_columns([
                login_throttle::Column::Failures,
                login_throttle::Column::LastFailureAt,
                login_throttle::Column::LockedUntil,
            ])
            .to_owned(),
    )
    .exec(c)
    .await?;
    Ok(())
}

/// Forgets the counter under `key` (after a successful sign-in).
pub async fn clear_throttle<C: ConnectionTrait>(c: &C, key: &str) -> Result<(), StoreError> {
    login_throttle::Entity::delete_by_id(key.to_string())
        .exec(c)
        .await?;
    Ok(())
}

/// Login names of the given users.
pub async fn logins<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?
        .into_iter()
        .map(|u| (u.id, u.login))
        .collect())
}

/// Keeps one session of a user alive (the one that changed the password).
pub async fn unrevoke_session<C: ConnectionTrait>(
    c: &C,
    id_hash: &str,
    user_id: i64,
) -> Result<(), StoreError> {
    session::Entity::update_many()
        .col_expr(
            session::Column::Revoked,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(session::Column::IdHash.eq(id_hash))
        .filter(session::Column::UserId.eq(user_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Stores a user's TOTP secret (encrypted) and whether it is confirmed.
pub async fn set_totp<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    secret_enc: Option<Vec<u8>>,
    enabled: bool,
) -> Result<(), StoreError> {
    user::Entity::update_many()
        .col_expr(
            user::Column::TotpSecretEnc,
            sea_orm::sea_query::Expr::value(secret_enc),
        )
        .col_expr(
            user::Column::TotpEnabled,
            sea_orm::sea_query::Expr::value(enabled),
        )
        .col_expr(
            user::Column::TotpLastStep,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Records the TOTP time step just accepted.
pub async fn set_totp_last_step<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    step: i64,
) -> Result<(), StoreError> {
    user::Entity::update_many()
        .col_expr(
            user::Column::TotpLastStep,
            sea_orm::sea_query::Expr::value(step),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Every user, by login.
pub async fn all_users<C: ConnectionTrait>(c: &C) -> Result<Vec<user::Model>, StoreError> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Login)
        .all(c)
        .await?)
}

/// Disables or re-enables a user.
pub async fn set_disabled<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    disabled: bool,
) -> Result<(), StoreError> {
    user::ActiveModel {
        id: Set(user_id),
        disabled: Set(disabled),
        ..Default::default()
    }
    .update(c)
    .await?;
    Ok(())
}

/// Revokes every live API token of a user; returns how many.
pub async fn revoke_user_tokens<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
) -> Result<u64, StoreError> {
    let r = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::Revoked,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::Revoked.eq(false))
        .exec(c)
        .await?;
    Ok(r.rows_affected)
}

/// One row of [`token_caller`] or [`session_caller`]: the credential's
/// state, its user, and one of the user's role grants with its
/// organization (`None`s when they hold none).
#[derive(Debug, Clone, FromQueryResult)]
pub struct CallerRow {
    pub user_id: i64,
    pub login: String,
    pub display_name: String,
    pub member_id: Option<i64>,
    pub disabled: bool,
    pub revoked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// The credential's stored hash (a lookup by token id must check the
    /// presented secret against it).
    pub key_hash: String,
    /// The session's CSRF token (`None` for a bearer token).
    pub csrf: Option<String>,
    pub role: Option<String>,
    pub org_id: Option<i64>,
    pub org_path: Option<String>,
    pub org_name: Option<String>,
    pub org_code: Option<String>,
}

/// The credential a caller presents: a bearer token (by its hash, or by
/// its id for a token whose text carries one) or a web session.
#[derive(Debug, Clone, Copy)]
enum Credential {
    Token,
    Session,
    TokenId,
}

impl Credential {
    /// The query behind [`token_caller`], [`session_caller`] and
    /// [`token_caller_by_id`] with its one parameter as `?` (SQLite) or
    /// `$1` (PostgreSQL): the credential by its hash or id (aliased `c`,
    /// with its stored hash and its CSRF token or a NULL), its user and the
    /// user's grants with their organizations, in grant order. Built once:
    /// the lookup precedes every request.
    fn sql(self, pg: bool) -> &'static str {
        static SQL: LazyLock<[String; 6]> = LazyLock::new(|| {
            let sql = |credential: &str, hash: &str, key: &str, csrf: &str, p: &str| {
                format!(
                    "SELECT u.id AS user_id, u.login, u.display_name, u.member_id, u.disabled, \
                     c.revoked, c.expires_at, c.{hash} AS key_hash, {csrf} AS csrf, g.role, \
                     g.org_id, o.path AS org_path, o.name AS org_name, o.code AS org_code \
                     FROM {credential} c JOIN users u ON u.id = c.user_id \
                     LEFT JOIN role_grants g ON g.user_id = u.id \
                     LEFT JOIN orgs o ON o.id = g.org_id \
                     WHERE c.{key} = {p} ORDER BY g.id"
                )
            };
            let none = "CAST(NULL AS TEXT)";
            let token = |p| sql("api_tokens", "token_hash", "token_hash", none, p);
            let session = |p| sql("sessions", "id_hash", "id_hash", "c.csrf", p);
            let token_id = |p| sql("api_tokens", "token_hash", "id", none, p);
            [
                token("?"),
                token("$1"),
                session("?"),
                session("$1"),
                token_id("?"),
                token_id("$1"),
            ]
        });
        &SQL[self as usize * 2 + usize::from(pg)]
    }
}

/// What a credential is looked up by.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Hash(&'a str),
    Id(i64),
}

impl rusqlite::ToSql for Key<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Key::Hash(h) => h.to_sql(),
            Key::Id(i) => i.to_sql(),
        }
    }
}

impl From<Key<'_>> for sea_orm::Value {
    fn from(k: Key<'_>) -> Self {
        match k {
            Key::Hash(h) => h.into(),
            Key::Id(i) => i.into(),
        }
    }
}

/// [`Credential::sql`] in one query: on a SQLite file through a direct
/// connection on this thread (see [`crate::direct`]: this lookup precedes
/// every API call and page, and sqlx's hand-off to its connection thread
/// cost more than the query), elsewhere through the pool.
async fn caller_rows(
    db: &Db,
    credential: Credential,
    key: Key<'_>,
) -> Result<Vec<CallerRow>, StoreError> {
    use sea_orm::{DbBackend, Statement};
    if let Some(d) = &db.direct {
        let query = |c: &rusqlite::Connection| -> Result<Vec<CallerRow>, StoreError> {
            let mut st = c.prepare_cached(credential.sql(false))?;
            let rows = st.query_map([key], |r| {
                Ok(CallerRow {
                    user_id: r.get(0)?,
                    login: r.get(1)?,
                    display_name: r.get(2)?,
                    member_id: r.get(3)?,
                    disabled: r.get(4)?,
                    revoked: r.get(5)?,
                    expires_at: r.get::<_, Option<Time>>(6)?.map(|t| t.0),
                    key_hash: r.get(7)?,
                    csrf: r.get(8)?,
                    role: r.get(9)?,
                    org_id: r.get(10)?,
                    org_path: r.get(11)?,
                    org_name: r.get(12)?,
                    org_code: r.get(13)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        };
        // A recent snapshot (its pages still cached): the application calls
        // `Direct::credentials_changed` after each change of a credential,
        // user, grant or organization, so what it finds is current for
        // this process. A credential it does not find may be newer than
        // the snapshot (a session opened a moment ago): looked up again.
        let rows = d.read_recent(query)?;
        if !rows.is_empty() {
            return Ok(rows);
        }
        return d.read(query);
    }
    let backend = db.conn.get_database_backend();
    let sql = credential.sql(backend == DbBackend::Postgres);
    Ok(
        CallerRow::find_by_statement(Statement::from_sql_and_values(backend, sql, [key.into()]))
            .all(&db.conn)
            .await?,
    )
}

/// The bearer token with this hash, its user and the user's role grants
/// with their organizations, in grant order, in one query — what every API
/// call needs to know its caller (the sign-in surge of issue 6 makes one
/// call per member, so this lookup is on its hot path). Empty when no
/// token has this hash.
pub async fn token_caller(db: &Db, token_hash: &str) -> Result<Vec<CallerRow>, StoreError> {
    caller_rows(db, Credential::Token, Key::Hash(token_hash)).await
}

/// [`token_caller`] for a token whose text carries its id
/// (`app::identity::create_token`): the row by its integer key, one B-tree
/// descent instead of a descent of the hash index and then the table (on
/// SQLite the hash index's leaf was the one random page of a sign-in's
/// lookup, BENCHMARKS.md). The caller must compare the presented secret's
/// hash with `key_hash`: the id alone proves nothing. Empty when no token
/// has this id.
pub async fn token_caller_by_id(db: &Db, id: i64) -> Result<Vec<CallerRow>, StoreError> {
    caller_rows(db, Credential::TokenId, Key::Id(id)).await
}

/// The web session with this hash, its user and the user's grants, in one
/// query (was three: session, user, grants) — what every page needs to
/// know its caller. Empty when no session has this hash.
pub async fn session_caller(db: &Db, id_hash: &str) -> Result<Vec<CallerRow>, StoreError> {
    caller_rows(db, Credential::Session, Key::Hash(id_hash)).await
}
