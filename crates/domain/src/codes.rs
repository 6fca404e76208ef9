//! `code_enum!`: closed sets of values with a stable storage code and zh-CN/English labels.

/// Declares an enum whose variants each have a stable code (stored, sent over
/// the wire, accepted in imports), a zh-CN label and an English label.
/// Parsing accepts the code or either label, so Chinese spreadsheets import as is.
#[macro_export]
macro_rules! code_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Stable code used in storage, the API and files.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            /// Label in zh-CN.
            pub fn label_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            /// Label in English.
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en),+ } }
            /// Label in the language whose tag starts with `en`, else zh-CN.
            pub fn label(self, lang: &str) -> &'static str {
                if lang.starts_with("en") { self.label_en() } else { self.label_zh() }
            }
            /// Parses a code, a zh-CN label or an English label (case-insensitive).
            pub fn parse(s: &str) -> Option<Self> {
                let t = s.trim();
                Self::ALL.iter().copied().find(|v| {
                    v.as_str() == t || v.label_zh() == t || v.label_en().eq_ignore_ascii_case(t)
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::codes::UnknownCode { kind: stringify!($name), value: s.to_string() })
            }
        }
    };
}

/// A string that is not one of an enum's codes or labels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind}: {value:?}")]
pub struct UnknownCode {
    pub kind: &'static str,
    pub value: String,
}
