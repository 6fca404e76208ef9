//! Membership dues (党费): categories and the exact calculator (DOMAIN.md §7).


code_enum! {
    /// Occupation category, which decides the dues rule (DOMAIN.md §7).
    pub enum DuesCategory {
        Employed = ("employed", "在职", "Employed"),
        Retired = ("retired", "离退休", "Retired"),
        Farmer = ("farmer", "农民", "Farmer"),
        Student = ("student", "学生", "Student"),
        Unemployed = ("unemployed", "失业", "Unemployed"),
        Subsistence = ("subsistence", "低保", "On subsistence allowance"),
    }
}
