//! Sign-in rules (issue 5, item 3; DOMAIN.md §13): the password policy and
//! the lockout schedule after failed sign-ins. Pure: "now" and the counts are
//! parameters.

use crate::FieldError;

/// Shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks a password a person chose: at least [`MIN_PASSWORD_CHARS`]
/// characters, characters of at least two classes (lower case, upper case,
/// digits, anything else), and not the login name (in any case, forwards or
/// backwards) nor containing it.
pub fn check_password(password: &str, login: &str) -> Result<(), FieldError> {
    let err = |code, zh: &str, en: &str| Err(FieldError::new("password", code, zh, en));
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return err(
            "too_short",
            "密码至少 10 个字符",
            "password must have at least 10 characters",
        );
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    let has_other_letters = password
        .chars()
        .any(|c| c.is_alphabetic() && !c.is_lowercase() && !c.is_uppercase());
    if classes.iter().filter(|x| **x).count() + usize::from(has_other_letters) < 2 {
        return err(
            "one_class",
            "密码须包含至少两类字符（小写字母、大写字母、数字、其他字符）",
            "password must mix at least two kinds of characters (lower case, upper case, digits, others)",
        );
    }
    let pw = password.to_lowercase();
    let name = login.trim().to_lowercase();
    let reversed: String = name.chars().rev().collect();
    if !name.is_empty() && (pw.contains(&name) || pw.contains(&reversed)) {
        return err(
            "contains_login",
            "密码不能包含登录名",
            "password must not contain the login name",
        );
    }
    Ok(())
}

/// When failed sign-ins start to lock a key out, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the first lock.
    pub free_failures: u32,
    /// Length of the first lock, in seconds; each further failure doubles it.
    pub first_lock_secs: i64,
    /// Longest lock, in seconds.
    pub max_lock_secs: i64,
    /// Failures older than this many seconds (counted from the last one)
    /// are forgotten.
    pub forget_after_secs: i64,
}

impl Backoff {
    /// Per account: 5 failures, then 30 s, 60 s, 120 s … up to one hour.
    pub const ACCOUNT: Backoff = Backoff {
        free_failures: 5,
        first_lock_secs: 30,
        max_lock_secs: 3600,
        forget_after_secs: 24 * 3600,
    };

    /// Per remote address: more lenient, since a village office or a
    /// mobile carrier puts many people behind one address.
    pub const ADDRESS: Backoff = Backoff {
        free_failures: 20,
        first_lock_secs: 30,
        max_lock_secs: 3600,
        forget_after_secs: 3600,
    };

    /// How long a key stays locked after its `failures`-th consecutive
    /// failure; `None` while failures are still free.
    pub fn lock_secs(&self, failures: u32) -> Option<i64> {
        let over = failures.checked_sub(self.free_failures)?;
        let factor = 1i64.checked_shl(over.min(40)).unwrap_or(i64::MAX);
        Some(
            self.first_lock_secs
                .saturating_mul(factor)
                .min(self.max_lock_secs),
        )
    }

    /// The failure count to continue from, given the stored count and how
    /// many seconds passed since the last failure.
    pub fn carried(&self, stored: u32, secs_since_last: i64) -> u32 {
        if secs_since_last > self.forget_after_secs {
            0
        } else {
            stored
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_cases() {
        for (pw, code) in [
            ("short1A", Some("too_short")),
            ("abcdefghijk", Some("one_class")),
            ("ABCDEFGHIJK", Some("one_class")),
            ("12345678901", Some("one_class")),
            ("党员同志党员同志党员同志", Some("one_class")),
            ("xsecretary_a9", Some("contains_login")),
            ("SECRETARY_A-2026", Some("contains_login")),
            ("a_yraterces1", Some("contains_login")),
            ("correct horse battery", None),
            ("Tr0ub4dour&3", None),
            ("党员同志2026年入党", None),
        ] {
            assert_eq!(
                check_password(pw, "secretary_a").err().map(|e| e.code),
                code,
                "{pw}"
            );
        }
    }

    #[test]
    fn backoff_doubles_after_the_free_failures_and_caps() {
        let b = Backoff::ACCOUNT;
        assert_eq!(b.lock_secs(0), None);
        assert_eq!(b.lock_secs(4), None);
        assert_eq!(b.lock_secs(5), Some(30));
        assert_eq!(b.lock_secs(6), Some(60));
        assert_eq!(b.lock_secs(7), Some(120));
        assert_eq!(b.lock_secs(12), Some(3600));
        assert_eq!(b.lock_secs(u32::MAX), Some(3600));
        assert_eq!(Backoff::ADDRESS.lock_secs(19), None);
        assert_eq!(Backoff::ADDRESS.lock_secs(20), Some(30));
        assert_eq!(b.carried(7, 60), 7);
        assert_eq!(b.carried(7, 24 * 3600 + 1), 0);
    }
}
