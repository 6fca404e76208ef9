//! Interface language: zh-CN by default, English by a switch (cookie or `?lang=en`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{LANG_COOKIE, cookie};

/// The language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn is_en(self) -> bool {
        self == Lang::En
    }
    /// Picks the zh-CN or the English text.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        if q.split('&').any(|kv| kv == "lang=en") {
            return Ok(Lang::En);
        }
        if q.split('&').any(|kv| kv == "lang=zh-CN" || kv == "lang=zh") {
            return Ok(Lang::Zh);
        }
        Ok(match cookie(&parts.headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        })
    }
}
