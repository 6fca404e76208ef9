//! Data classification levels and what each requires (DOMAIN.md §13); the
//! member field table is `members::member_field_classification`.

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

impl Classification {
    /// Sensitive and core data are encrypted at rest (DOMAIN.md §13).
    pub fn encrypted_at_rest(self) -> bool {
        matches!(self, Classification::Sensitive | Classification::Core)
    }

    /// Sensitive and core data are masked in lists (DOMAIN.md §13).
    pub fn masked_in_lists(self) -> bool {
        self.encrypted_at_rest()
    }

    /// Every read of sensitive and core data is logged (DOMAIN.md §13).
    pub fn reads_logged(self) -> bool {
        self.encrypted_at_rest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_follows_level() {
        let protected: Vec<Classification> = Classification::ALL
            .iter()
            .copied()
            .filter(|c| c.encrypted_at_rest() && c.masked_in_lists() && c.reads_logged())
            .collect();
        assert_eq!(protected, [Classification::Sensitive, Classification::Core]);
        assert!(Classification::Public < Classification::Core);
    }
}
