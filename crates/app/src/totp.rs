//! Second factor (issue 5, item 3): time-based one-time passwords (RFC 6238,
//! SHA-1, 6 digits, 30 s steps, one step of clock skew) through `totp-rs`.
//! The secret is stored encrypted with the keyring; each time step is
//! accepted once, so a code seen over someone's shoulder cannot be replayed.
//! Once a user confirmed enrollment, every sign-in needs a code; with
//! `AppConfig::require_totp_for_staff`, administrators and committee staff
//! cannot sign in before they enrolled.

use dangjian_domain::identity::Role;
use dangjian_store::entities::user;
use dangjian_store::repo::{audit, identity as repo};
use serde::Serialize;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::identity::random_bytes;
use crate::{Actor, App, AppError};

/// Associated data binding an encrypted TOTP secret to its column.
pub const AAD_TOTP: &str = "users.totp_secret";

const STEP_SECS: u64 = 30;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn totp(secret: Vec<u8>) -> Result<TOTP, AppError> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, secret).map_err(internal)
}

/// The code of `secret` at Unix time `secs` (for authenticator apps and tests).
pub fn code_at(secret_base32: &str, secs: u64) -> Result<String, AppError> {
    let bytes = Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|_| AppError::field("secret", "invalid", "密钥无效", "invalid secret"))?;
    Ok(totp(bytes)?.generate(secs))
}

/// The time step `code` matches, within one step of `now_secs`, and later
/// than the last step accepted.
fn matching_step(t: &TOTP, code: &str, now_secs: u64, last: Option<i64>) -> Option<i64> {
    let now_step = (now_secs / STEP_SECS) as i64;
    let code = code.trim();
    [now_step - 1, now_step, now_step + 1]
        .into_iter()
        .filter(|s| *s >= 0 && last.is_none_or(|l| *s > l))
        .find(|s| {
            let expected = t.generate(*s as u64 * STEP_SECS);
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What an authenticator app needs to enroll.
#[derive(Debug, Clone, Serialize)]
pub struct TotpEnrollment {
    /// Base32 secret (type it in, or scan `uri`).
    pub secret: String,
    /// `otpauth://` URI for a QR code.
    pub uri: String,
}

/// The second-factor check of a sign-in whose password was right.
pub(crate) enum SecondFactor {
    /// Nothing more needed, or the code matched this time step.
    Passed(Option<i64>),
    Refused(AppError),
}

impl App {
    fn now_secs(&self) -> u64 {
        self.clock.now().timestamp().max(0) as u64
    }

    pub(crate) fn second_factor(
        &self,
        u: &user::Model,
        roles: &[Role],
        code: Option<&str>,
    ) -> Result<SecondFactor, AppError> {
        if !u.totp_enabled {
            let staff = roles
                .iter()
                .any(|r| matches!(r, Role::Admin | Role::CommitteeStaff));
            if self.config.require_totp_for_staff && staff {
                return Ok(SecondFactor::Refused(AppError::field(
                    "totp",
                    "totp_enrollment_required",
                    "管理员和组织部干部须先绑定动态验证码（请联系系统管理员）",
                    "administrators and committee staff must enroll a second factor first (ask the system administrator)",
                )));
            }
            return Ok(SecondFactor::Passed(None));
        }
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Ok(SecondFactor::Refused(AppError::field(
                "totp",
                "totp_required",
                "请输入动态验证码",
                "enter the code from your authenticator app",
            )));
        };
        let secret = u
            .totp_secret_enc
            .as_deref()
            .ok_or_else(|| internal("TOTP enabled without a secret"))?;
        let t = totp(self.keys.decrypt(secret, AAD_TOTP)?)?;
        Ok(
            match matching_step(&t, code, self.now_secs(), u.totp_last_step) {
                Some(step) => SecondFactor::Passed(Some(step)),
                None => SecondFactor::Refused(AppError::Unauthorized),
            },
        )
    }

    /// Starts enrollment for the signed-in user: a new secret, not yet
    /// required until [`App::totp_confirm`] sees a code from it.
    pub async fn totp_enroll(&self, actor: &Actor) -> Result<TotpEnrollment, AppError> {
        let u = repo::user_by_id(&self.db.conn, actor.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if u.totp_enabled {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "totp",
                "already_enrolled",
                "已绑定动态验证码",
                "a second factor is already enrolled",
            )));
        }
        self.enroll(&u, false, actor).await
    }

    /// Enrolls `login` and requires the code at once (command line, for
    /// staff who may not sign in without it).
    pub async fn totp_enroll_login(&self, login: &str) -> Result<TotpEnrollment, AppError> {
        let u = repo::user_by_login(&self.db.conn, login)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        self.enroll(&u, true, &Actor::system(0, "/")).await
    }

    async fn enroll(
        &self,
        u: &user::Model,
        enabled: bool,
        actor: &Actor,
    ) -> Result<TotpEnrollment, AppError> {
        let raw = random_bytes::<20>()?.to_vec();
        let secret = match Secret::Raw(raw.clone()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => return Err(internal("base32 encoding")),
        };
        let enc = self.keys.encrypt(&raw, AAD_TOTP)?;
        let (_writer, tx) = self.begin_write().await?;
        repo::set_totp(&tx, u.id, Some(enc), enabled).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.totp_enroll".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: repo::grants_of(&tx, u.id).await?.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"confirmed": enabled}),
            },
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(TotpEnrollment {
            uri: format!(
                "otpauth://totp/dangjian:{login}?secret={secret}&issuer=dangjian&algorithm=SHA1&digits=6&period=30",
                login = u.login
            ),
            secret,
        })
    }

    /// Confirms enrollment with a code from the new secret; from then on
    /// every sign-in of the user needs a code.
    pub async fn totp_confirm(&self, actor: &Actor, code: &str) -> Result<(), AppError> {
        let u = repo::user_by_id(&self.db.conn, actor.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let wrong = || {
            AppError::field(
                "code",
                "wrong_code",
                "验证码不正确",
                "the code does not match",
            )
        };
        let Some(secret) = u.totp_secret_enc.as_deref().filter(|_| !u.totp_enabled) else {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "totp",
                "not_enrolling",
                "没有待确认的动态验证码",
                "no enrollment to confirm",
            )));
        };
        let t = totp(self.keys.decrypt(secret, AAD_TOTP)?)?;
        let step = matching_step(&t, code, self.now_secs(), None).ok_or_else(wrong)?;
        let (_writer, tx) = self.begin_write().await?;
        repo::set_totp(&tx, u.id, u.totp_secret_enc.clone(), true).await?;
        repo::set_totp_last_step(&tx, u.id, step).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "user.totp_confirm".into(),
                target_kind: "user".into(),
                target_id: Some(u.id),
                org_id: actor.grants.first().map(|g| g.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({}),
            },
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.callers_changed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector_and_one_use_per_step() {
        // RFC 6238 appendix B, SHA-1, 8 digits at T = 59 s: 94287082; six
        // digits are its last six.
        let t = totp(b"12345678901234567890".to_vec()).expect("totp");
        assert_eq!(t.generate(59), "287082");
        assert_eq!(matching_step(&t, "287082", 59, None), Some(1));
        // One step of skew either way, not two.
        assert_eq!(matching_step(&t, "287082", 89, None), Some(1));
        assert_eq!(matching_step(&t, "287082", 119, None), None);
        // A step already used is refused.
        assert_eq!(matching_step(&t, "287082", 59, Some(1)), None);
        assert_eq!(matching_step(&t, "000000", 59, None), None);
    }
}
