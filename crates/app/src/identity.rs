//! Accounts: password hashing (argon2id), sign-in, web sessions, API tokens,
//! and turning a session or token into an [`Actor`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Duration;
use dangjian_domain::identity::Role;
use dangjian_store::repo::{audit, identity as repo, orgs};
use sha2::{Digest, Sha256};

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

/// A password people can type from a printout: 16 characters without look-alikes.
pub fn generate_password() -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<16>()?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
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

/// Minimum password rules for passwords people choose.
pub fn check_password_policy(pw: &str) -> Result<(), AppError> {
    if pw.chars().count() < 10 {
        return Err(AppError::field(
            "password",
            "too_short",
            "密码至少 10 个字符",
            "password must have at least 10 characters",
        ));
    }
    Ok(())
}

/// A new user and the one-time password to hand over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewUser {
    pub user_id: i64,
    pub login: String,
    pub password: String,
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
        validate_login(login)?;
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
        let password = generate_password()?;
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
        Ok(NewUser {
            user_id: u.id,
            login: login.to_string(),
            password,
        })
    }

    /// Checks a login and password; logs success and failure.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        let user = repo::user_by_login(&self.db.conn, login).await?;
        let ok = match &user {
            Some(u) if !u.disabled => verify_password(password, &u.password_hash),
            _ => {
                // Spend the same time as a real check so logins cannot be probed.
                let _ = verify_password(password, DUMMY_HASH);
                false
            }
        };
        let now = self.clock.now();
        audit::append(
            &self.db.conn,
            audit::Entry {
                user_id: user.as_ref().map(|u| u.id),
                action: if ok { "login.success" } else { "login.failure" }.into(),
                target_kind: "user".into(),
                target_id: user.as_ref().map(|u| u.id),
                org_id: None,
                remote_addr: remote_addr.clone(),
                detail: serde_json::json!({"login": login}),
            },
            now,
        )
        .await?;
        match user {
            Some(u) if ok => self.actor_for(u.id, remote_addr).await,
            _ => Err(AppError::Unauthorized),
        }
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

    /// The actor and CSRF token of a live session.
    pub async fn session_actor(
        &self,
        secret: &str,
        remote_addr: Option<String>,
    ) -> Result<(Actor, String), AppError> {
        let s = repo::session(&self.db.conn, &secret_hash(secret))
            .await?
            .filter(|s| !s.revoked && s.expires_at > self.clock.now())
            .ok_or(AppError::Unauthorized)?;
        Ok((self.actor_for(s.user_id, remote_addr).await?, s.csrf))
    }

    /// Ends a web session.
    pub async fn close_session(&self, secret: &str) -> Result<(), AppError> {
        repo::revoke_session(&self.db.conn, &secret_hash(secret)).await?;
        Ok(())
    }

    /// Creates an API token for a user; the token is shown once.
    pub async fn create_token(&self, login: &str, name: &str) -> Result<String, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let token = format!("dj_{}", hex::encode(random_bytes::<32>()?));
        let now = self.clock.now();
        repo::insert_token(&self.db.conn, &secret_hash(&token), u.id, name, now, None).await?;
        audit::append(
            &self.db.conn,
            audit::Entry {
                user_id: Some(u.id),
                action: "token.create".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: None,
                remote_addr: None,
                detail: serde_json::json!({"name": name}),
            },
            now,
        )
        .await?;
        Ok(token)
    }

    /// The actor of a bearer token.
    pub async fn token_actor(
        &self,
        token: &str,
        remote_addr: Option<String>,
    ) -> Result<Actor, AppError> {
        let t = repo::token(&self.db.conn, &secret_hash(token))
            .await?
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|e| e > self.clock.now()))
            .ok_or(AppError::Unauthorized)?;
        self.actor_for(t.user_id, remote_addr).await
    }
}

/// A valid argon2id hash of a random string, used to equalize timing.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3H0Lr6Sfa0ZpW1u3V7yYy0cOBqfK2yY6lqVu3v4m6cA";
