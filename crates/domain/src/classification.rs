//! Data classification of every member field (DOMAIN.md §13).


code_enum! {
    /// How sensitive a field is; sensitive and core fields are encrypted at rest,
    /// masked in lists and every read of them is logged (DOMAIN.md §13).
    pub enum Classification {
        Public = ("public", "公开", "Public"),
        Internal = ("internal", "内部", "Internal"),
        Sensitive = ("sensitive", "敏感", "Sensitive"),
        Core = ("core", "核心", "Core"),
    }
}
