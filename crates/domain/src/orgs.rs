//! Organizations: levels and kinds of the five-level tree (DOMAIN.md §2) and
//! the structural rules a branch must meet.


code_enum! {
    /// What an organization is. The first four are leadership levels
    /// (中央 → 省 → 市 → 县); the rest are grassroots units (DOMAIN.md §2).
    pub enum OrgKind {
        Central = ("central", "中央", "Central"),
        Province = ("province", "省级党委", "Province"),
        City = ("city", "市级党委", "City"),
        County = ("county", "县级党委", "County"),
        Committee = ("committee", "基层党委", "Grassroots committee"),
        GeneralBranch = ("general_branch", "党总支", "General branch"),
        Branch = ("branch", "党支部", "Branch"),
        Group = ("group", "党小组", "Party group"),
    }
}

code_enum! {
    /// Where a grassroots organization sits; decides its committee term (DOMAIN.md §2).
    pub enum OrgSetting {
        Village = ("village", "农村", "Village"),
        Community = ("community", "社区", "Community"),
        StateOrgan = ("state_organ", "党政机关", "Party or state organ"),
        Enterprise = ("enterprise", "企业", "Enterprise"),
        Institution = ("institution", "事业单位", "Public institution"),
        School = ("school", "学校", "School"),
        Other = ("other", "其他", "Other"),
    }
}

code_enum! {
    /// Whether an organization is in use or dissolved (archived, never deleted).
    pub enum OrgStatus {
        Active = ("active", "正常", "Active"),
        Dissolved = ("dissolved", "已撤销", "Dissolved"),
    }
}
