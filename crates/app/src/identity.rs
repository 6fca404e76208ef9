//! Accounts: password hashing (argon2id), sign-in, web sessions, API tokens,
//! and turning a session or token into an [`Actor`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Duration;
use dangjian_domain::identity::Role;
use dangjian_domain::security::{Backoff, check_password};
use dangjian_store::repo::{audit, identity as repo, orgs};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

use crate::caches::Caller;

use crate::totp::SecondFactor;
use crate::{Actor, App, AppError, Grant};

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(b)
}

/// SHA-256 hex of a secret; only this is stored for sessions and tokens.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The text of API token `id` with `secret` (64 lower-case hex digits):
/// `dj_{id}_{secret}`, which [`split_token`] reads back.
pub fn token_text(id: i64, secret: &str) -> String {
    format!("dj_{id}_{secret}")
}

/// The id and secret of an API token written `dj_{id}_{secret}` (a
/// positive decimal id, a secret of 64 lower-case hex digits), as
/// [`App::create_token`] makes them; `None` for any other text, which is
/// then looked up by the hash of the whole text (the tokens made before
/// ids were part of the text).
pub fn split_token(token: &str) -> Option<(i64, &str)> {
    let (id, secret) = token.strip_prefix("dj_")?.split_once('_')?;
    let digits = !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit());
    let hex = secret.len() == 64
        && secret
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !digits || !hex {
        return None;
    }
    id.parse().ok().filter(|&id| id > 0).map(|id| (id, secret))
}

/// A password people can type from a printout: 16 characters without look-alikes.
pub fn generate_password() -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let bytes = random_bytes::<16>()?;
        let pw: String = bytes
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        // A draw of one class only (about one in a million) is drawn again.
        if check_password(&pw, "").is_ok() {
            return Ok(pw);
        }
    }
}

/// argon2id hash in PHC string format.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The password policy for passwords people choose (see
/// `dangjian_domain::security::check_password`).
pub fn check_password_policy(pw: &str, login: &str) -> Result<(), AppError> {
    check_password(pw, login)
        .map_err(|e| AppError::Validation(dangjian_domain::ValidationErrors(vec![e])))
}

/// A new user and the one-time password to hand over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewUser {
    pub user_id: i64,
    pub login: String,
    pub password: String,
}

/// A user as an administrator's list shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserSummary {
    pub login: String,
    pub display_name: String,
    pub disabled: bool,
    pub totp_enabled: bool,
    /// `role@organization code`, one per grant.
    pub roles: Vec<String>,
}

/// Validates a login name: 3–64 characters of letters, digits, `.`, `_`, `-`.
pub fn validate_login(login: &str) -> Result<(), AppError> {
    let ok = (3..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "login",
            "invalid_login",
            "登录名须为 3–64 位字母、数字或 . _ -",
            "login must be 3–64 letters, digits, '.', '_' or '-'",
        ))
    }
}

impl App {
    /// Creates a user with a generated one-time password and one role grant.
    pub async fn add_user(
        &self,
        actor: &Actor,
        login: &str,
        display_name: &str,
        role: Role,
        org_code: &str,
        member_id: Option<i64>,
    ) -> Result<NewUser, AppError> {
        self.add_user_with_password(actor, login, display_name, role, org_code, member_id, None)
            .await
    }

    /// Creates a user with one role grant and the given password (checked
    /// against the policy) or a generated one.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_user_with_password(
        &self,
        actor: &Actor,
        login: &str,
        display_name: &str,
        role: Role,
        org_code: &str,
        member_id: Option<i64>,
        password: Option<&str>,
    ) -> Result<NewUser, AppError> {
        validate_login(login)?;
        if let Some(pw) = password {
            check_password_policy(pw, login)?;
        }
        let org = orgs::by_code(&self.db.conn, org_code)
            .await?
            .ok_or_else(|| {
                AppError::field(
                    "org",
                    "unknown_org",
                    "组织代码不存在",
                    "no organization with that code",
                )
            })?;
        if !actor.can_admin(&org.path) {
            return Err(AppError::Forbidden);
        }
        if repo::user_by_login(&self.db.conn, login).await?.is_some() {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "login",
                "login_taken",
                "登录名已被使用",
                "login is already taken",
            )));
        }
        let password = match password {
            Some(p) => p.to_string(),
            None => generate_password()?,
        };
        let hash = hash_password(&password)?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let u = repo::insert_user(&tx, login, &hash, display_name, member_id, now).await?;
        repo::grant(&tx, u.id, org.id, role.as_str()).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.create".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: Some(org.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"login": login, "role": role.as_str()}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(NewUser {
            user_id: u.id,
            login: login.to_string(),
            password,
        })
    }

    /// Checks a login and password; logs success and failure with the
    /// remote address. After repeated failures the account and the address
    /// are locked out with a growing delay ([`Backoff`]); while locked, no
    /// password is checked and the answer is [`AppError::Throttled`].
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        self.authenticate_with_code(login, password, None, remote_addr)
            .await
    }

    /// [`App::authenticate`] with the second factor's code, required once
    /// the user enrolled (see [`crate::totp`]). A missing or wrong code
    /// counts as a failed sign-in.
    pub async fn authenticate_with_code(
        &self,
        login: &str,
        password: &str,
        code: Option<&str>,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        let now = self.clock.now();
        let login_key: String = login.trim().to_lowercase().chars().take(64).collect();
        let mut keys = vec![(format!("login:{login_key}"), Backoff::ACCOUNT)];
        if let Some(a) = &remote_addr {
            keys.push((format!("addr:{a}"), Backoff::ADDRESS));
        }
        let user = repo::user_by_login(&self.db.conn, login).await?;
        let grants = match &user {
            Some(u) => repo::grants_of(&self.db.conn, u.id).await?,
            None => Vec::new(),
        };
        let org_id = grants.first().map(|g| g.org_id);
        let entry = |action: &str, detail: serde_json::Value| audit::Entry {
            user_id: user.as_ref().map(|u| u.id),
            action: action.into(),
            target_kind: "user".into(),
            target_id: user.as_ref().map(|u| u.id),
            org_id,
            remote_addr: remote_addr.clone(),
            detail,
        };
        let shown_login: String = login.chars().take(64).collect();
        let mut wait = 0i64;
        for (k, _) in &keys {
            if let Some(until) = repo::throttle(&self.db.conn, k)
                .await?
                .and_then(|t| t.locked_until)
                .filter(|u| *u > now)
            {
                wait = wait.max((until - now).num_seconds().max(1));
            }
        }
        if wait > 0 {
            self.record_audit(entry(
                "login.locked",
                serde_json::json!({"login": shown_login, "retry_after_secs": wait}),
            ))
            .await?;
            return Err(AppError::Throttled(wait));
        }
        let ok = match &user {
            Some(u) if !u.disabled => verify_password(password, &u.password_hash),
            _ => {
                // Spend the same time as a real check so logins cannot be probed.
                let _ = verify_password(password, DUMMY_HASH);
                false
            }
        };
        // The second factor, only once the password was right.
        let mut refusal = None;
        let mut totp_step = None;
        if let (true, Some(u)) = (ok, &user) {
            let roles: Vec<Role> = grants.iter().filter_map(|g| Role::parse(&g.role)).collect();
            match self.second_factor(u, &roles, code)? {
                SecondFactor::Passed(step) => totp_step = step,
                SecondFactor::Refused(e) => refusal = Some(e),
            }
        }
        let ok = ok && refusal.is_none();
        let (_writer, tx) = self.begin_write().await?;
        let mut locked_for = None;
        if let (Some(step), Some(u)) = (totp_step, &user) {
            repo::set_totp_last_step(&tx, u.id, step).await?;
        }
        if ok {
            repo::clear_throttle(&tx, &keys[0].0).await?;
        } else {
            for (k, policy) in &keys {
                let (stored, last) = match repo::throttle(&tx, k).await? {
                    Some(t) => (t.failures.max(0) as u32, Some(t.last_failure_at)),
                    None => (0, None),
                };
                let since = last.map_or(i64::MAX, |l| (now - l).num_seconds());
                let failures = policy.carried(stored, since).saturating_add(1);
                let lock = policy.lock_secs(failures);
                if let Some(secs) = lock {
                    locked_for = Some(locked_for.unwrap_or(0).max(secs));
                }
                repo::put_throttle(
                    &tx,
                    k,
                    failures.min(i32::MAX as u32) as i32,
                    now,
                    lock.map(|s| now + Duration::seconds(s)),
                )
                .await?;
            }
        }
        audit::append(
            &tx,
            entry(
                if ok { "login.success" } else { "login.failure" },
                serde_json::json!({
                    "login": shown_login,
                    "locked_for_secs": locked_for,
                    "second_factor": match &refusal {
                        Some(AppError::Validation(v)) => v.0.first().map(|e| e.code),
                        Some(_) => Some("wrong_code"),
                        None => totp_step.map(|_| "ok"),
                    },
                }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        match (user, refusal) {
            (_, Some(e)) => Err(e),
            (Some(u), None) if ok => self.actor_for(u.id, remote_addr).await,
            _ => Err(AppError::Unauthorized),
        }
    }

    /// Changes the signed-in user's password: the current one must match,
    /// the new one must pass the policy; every other session ends.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<(), AppError> {
        let u = repo::user_by_id(&self.db.conn, actor.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !verify_password(current, &u.password_hash) {
            return Err(AppError::field(
                "current_password",
                "wrong_password",
                "当前密码不正确",
                "the current password is wrong",
            ));
        }
        check_password_policy(new, &u.login)?;
        let hash = hash_password(new)?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let user_id = u.id;
        repo::set_password(&tx, u, &hash).await?;
        let revoked = repo::revoke_user_sessions(&tx, user_id).await?;
        if let Some(secret) = keep_session {
            repo::unrevoke_session(&tx, &secret_hash(secret), user_id).await?;
        }
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.password_change".into(),
                target_kind: "user".into(),
                target_id: Some(user_id),
                org_id: actor.grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"sessions_ended": revoked}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(())
    }

    /// Sets a new password for a user (the given one, checked against the
    /// policy, or a generated one-time password) and ends their sessions;
    /// only an administrator over all the user's roles. Returns the
    /// password. Audited (without the password).
    pub async fn reset_password(
        &self,
        actor: &Actor,
        login: &str,
        new: Option<&str>,
    ) -> Result<String, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let grants = repo::grants_of(&self.db.conn, u.id).await?;
        if grants.is_empty() || !grants.iter().all(|g| actor.can_admin(&g.org_path)) {
            return Err(AppError::NotFound("user"));
        }
        let password = match new {
            Some(p) => {
                check_password_policy(p, login)?;
                p.to_string()
            }
            None => generate_password()?,
        };
        let hash = hash_password(&password)?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let uid = u.id;
        repo::set_password(&tx, u, &hash).await?;
        let n = repo::revoke_user_sessions(&tx, uid).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.password_reset".into(),
                target_kind: "user".into(),
                target_id: Some(uid),
                org_id: grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"login": login, "sessions_ended": n}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(password)
    }

    /// The users an administrator manages: those whose every role is held
    /// inside the administrator's subtrees, by login.
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserSummary>, AppError> {
        let mut out = Vec::new();
        for u in repo::all_users(&self.db.conn).await? {
            let grants = repo::grants_of(&self.db.conn, u.id).await?;
            if grants.is_empty() || !grants.iter().all(|g| actor.can_admin(&g.org_path)) {
                continue;
            }
            out.push(UserSummary {
                login: u.login,
                display_name: u.display_name,
                disabled: u.disabled,
                totp_enabled: u.totp_enabled,
                roles: grants
                    .iter()
                    .map(|g| format!("{}@{}", g.role, g.org_code))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Disables a user (no sign-in, no token, every session ended) or
    /// enables them again; only an administrator of all their roles'
    /// organizations. Returns the sessions ended. Audited.
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        login: &str,
        disabled: bool,
    ) -> Result<u64, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let grants = repo::grants_of(&self.db.conn, u.id).await?;
        if grants.is_empty() || !grants.iter().all(|g| actor.can_admin(&g.org_path)) {
            return Err(AppError::NotFound("user"));
        }
        if disabled && u.id == actor.user_id {
            return Err(AppError::field(
                "login",
                "self",
                "不能停用自己的账号",
                "you cannot disable your own account",
            ));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        repo::set_disabled(&tx, u.id, disabled).await?;
        let n = if disabled {
            repo::revoke_user_sessions(&tx, u.id).await?
        } else {
            0
        };
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: if disabled {
                    "user.disable"
                } else {
                    "user.enable"
                }
                .into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"login": login, "sessions_ended": n}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(n)
    }

    /// Ends every session of the user `login` (an administrator over each
    /// organization where the user holds a role); returns how many ended.
    pub async fn revoke_user_sessions(&self, actor: &Actor, login: &str) -> Result<u64, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let grants = repo::grants_of(&self.db.conn, u.id).await?;
        if grants.is_empty() || !grants.iter().all(|g| actor.can_admin(&g.org_path)) {
            return Err(AppError::NotFound("user"));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let n = repo::revoke_user_sessions(&tx, u.id).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.sessions_revoke".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"login": login, "sessions_ended": n}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(n)
    }

    /// Loads a user's grants into an [`Actor`].
    pub async fn actor_for(
        &self,
        user_id: i64,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        let u = repo::user_by_id(&self.db.conn, user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(AppError::Unauthorized)?;
        let grants = repo::grants_of(&self.db.conn, u.id)
            .await?
            .into_iter()
            .filter_map(|g| {
                Some(Grant {
                    role: Role::parse(&g.role)?,
                    org_id: g.org_id,
                    org_path: g.org_path,
                    org_name: g.org_name,
                    org_code: g.org_code,
                })
            })
            .collect();
        Ok(Actor {
            user_id: u.id,
            login: u.login,
            display_name: u.display_name,
            member_id: u.member_id,
            grants,
            remote_addr,
        })
    }

    /// Opens a web session; returns (session secret, CSRF token).
    pub async fn open_session(&self, actor: &Actor) -> Result<(String, String), AppError> {
        let secret = hex::encode(random_bytes::<32>()?);
        let csrf = hex::encode(random_bytes::<16>()?);
        let now = self.clock.now();
        repo::insert_session(
            &self.db.conn,
            &secret_hash(&secret),
            actor.user_id,
            &csrf,
            now,
            now + Duration::hours(self.config.session_hours),
        )
        .await?;
        Ok((secret, csrf))
    }

    /// The actor and CSRF token of a live session (from the caller cache
    /// when it was looked up in the last few seconds, see [`crate::caches`]).
    pub async fn session_actor(
        &self,
        secret: &str,
        remote_addr: Option<String>,
    ) -> Result<(Actor, String), AppError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let cache = &self.caches.sessions;
        let caller = match self.cached_caller(cache, &digest)? {
            Some(c) => c,
            None => {
                let generation = cache.generation();
                // Session, user and grants in one query (was three).
                let rows = repo::session_caller(&self.db, &hex::encode(digest)).await?;
                let c = self.caller_of(&rows)?;
                cache.put(digest, c.clone(), generation, Instant::now());
                c
            }
        };
        let mut actor = Actor::clone(&caller.actor);
        actor.remote_addr = remote_addr;
        Ok((actor, caller.csrf.unwrap_or_default()))
    }

    /// The caller from the rows of `repo::token_caller` or
    /// `repo::session_caller`: refused when there is no such credential,
    /// or it is revoked or expired, or its user is disabled.
    fn caller_of(&self, rows: &[repo::CallerRow]) -> Result<Caller, AppError> {
        let now = self.clock.now();
        let t = rows
            .first()
            .filter(|t| !t.revoked && !t.disabled && t.expires_at.is_none_or(|e| e > now))
            .ok_or(AppError::Unauthorized)?;
        let actor = Actor {
            user_id: t.user_id,
            login: t.login.clone(),
            display_name: t.display_name.clone(),
            member_id: t.member_id,
            grants: rows
                .iter()
                .filter_map(|g| {
                    Some(Grant {
                        role: Role::parse(g.role.as_deref()?)?,
                        org_id: g.org_id?,
                        org_path: g.org_path.clone()?,
                        org_name: g.org_name.clone()?,
                        org_code: g.org_code.clone()?,
                    })
                })
                .collect(),
            remote_addr: None,
        };
        Ok(Caller {
            actor: Arc::new(actor),
            expires_at: t.expires_at,
            csrf: t.csrf.clone(),
        })
    }

    /// A cached caller still valid by the application's clock; a cached
    /// one whose credential expired is dropped and refused.
    fn cached_caller(
        &self,
        cache: &crate::caches::Ttl<[u8; 32], Caller>,
        digest: &[u8; 32],
    ) -> Result<Option<Caller>, AppError> {
        match cache.get(digest, Instant::now()) {
            Some(c) if c.expires_at.is_some_and(|e| e <= self.clock.now()) => {
                cache.remove(digest);
                Err(AppError::Unauthorized)
            }
            other => Ok(other),
        }
    }

    /// Forgets every cached caller (token and session → user and grants).
    /// Called after each write that changes users, role grants, tokens,
    /// sessions or organizations (grants carry their organization's path),
    /// and every recent snapshot of the caller lookup
    /// (`store::direct::Direct::read_recent`), so this process sees the
    /// change at once; other processes see it within [`crate::caches::TTL`].
    pub fn callers_changed(&self) {
        self.caches.tokens.clear();
        self.caches.sessions.clear();
        if let Some(d) = &self.db.direct {
            d.credentials_changed();
        }
    }

    /// Ends a web session.
    pub async fn close_session(&self, secret: &str) -> Result<(), AppError> {
        let hash = secret_hash(secret);
        let Some(s) = repo::session(&self.db.conn, &hash)
            .await?
            .filter(|s| !s.revoked)
        else {
            return Ok(());
        };
        let org_id = repo::grants_of(&self.db.conn, s.user_id)
            .await?
            .first()
            .map(|g| g.org_id);
        let (_writer, tx) = self.begin_write().await?;
        repo::revoke_session(&tx, &hash).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: Some(s.user_id),
                action: "logout".into(),
                target_kind: "user".into(),
                target_id: Some(s.user_id),
                org_id,
                remote_addr: None,
                detail: serde_json::json!({}),
            },
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(())
    }

    /// Creates an API token for a user; the token is shown once. Its text
    /// is `dj_{id}_{secret}` (64 hex digits of secret): the lookup goes by
    /// the id and then compares the secret's SHA-256 with the stored one in
    /// constant time (see [`split_token`]); only that hash is stored.
    pub async fn create_token(&self, login: &str, name: &str) -> Result<String, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let secret = hex::encode(random_bytes::<32>()?);
        let now = self.clock.now();
        let id =
            repo::insert_token(&self.db.conn, &secret_hash(&secret), u.id, name, now, None).await?;
        let token = token_text(id, &secret);
        self.record_audit(audit::Entry {
            user_id: Some(u.id),
            action: "token.create".into(),
            target_kind: "user".into(),
            target_id: Some(u.id),
            org_id: None,
            remote_addr: None,
            detail: serde_json::json!({"name": name}),
        })
        .await?;
        Ok(token)
    }

    /// The actor of a bearer token: the row named by the id in its text
    /// with the secret's SHA-256 compared, or for an older token the row
    /// of its text's SHA-256 (no password hashing on this path); from the
    /// caller cache when it was looked up in the last few seconds (see
    /// [`crate::caches`]).
    pub async fn token_actor(
        &self,
        token: &str,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        // The cache key is the digest of the whole text, so a cached caller
        // answers only the exact text that was checked. On a miss a token
        // with its id in its text is looked up by the id and its secret's
        // hash compared with the stored one; an older token (`dj_` and the
        // secret only) is looked up by the hash of its whole text.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cache = &self.caches.tokens;
        let caller = match self.cached_caller(cache, &digest)? {
            Some(c) => c,
            None => {
                let generation = cache.generation();
                // Token, user and grants in one query (was three).
                let rows = match split_token(token) {
                    Some((id, secret)) => {
                        let hash = secret_hash(secret);
                        let mut rows = repo::token_caller_by_id(&self.db, id).await?;
                        let matches = rows.first().is_some_and(|r| {
                            bool::from(r.key_hash.as_bytes().ct_eq(hash.as_bytes()))
                        });
                        if !matches {
                            rows.clear();
                        }
                        rows
                    }
                    None => repo::token_caller(&self.db, &hex::encode(digest)).await?,
                };
                let c = self.caller_of(&rows)?;
                cache.put(digest, c.clone(), generation, Instant::now());
                c
            }
        };
        let mut actor = Actor::clone(&caller.actor);
        actor.remote_addr = remote_addr;
        Ok(actor)
    }

    /// Revokes every API token of the user `login` (an administrator over
    /// each organization where the user holds a role); returns how many.
    /// Refused at once by this process, within [`crate::caches::TTL`] by
    /// others. Audited.
    pub async fn revoke_user_tokens(&self, actor: &Actor, login: &str) -> Result<u64, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let grants = repo::grants_of(&self.db.conn, u.id).await?;
        if grants.is_empty() || !grants.iter().all(|g| actor.can_admin(&g.org_path)) {
            return Err(AppError::NotFound("user"));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let n = repo::revoke_user_tokens(&tx, u.id).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.tokens_revoke".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"login": login, "tokens_revoked": n}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(n)
    }
}

/// A valid argon2id hash of a random string, used to equalize timing.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3H0Lr6Sfa0ZpW1u3V7yYy0cOBqfK2yY6lqVu3v4m6cA";
