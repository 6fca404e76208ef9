//! Users' roles held at organizations and what each may do (DOMAIN.md §1, §2).

code_enum! {
    /// A role a user holds at one organization; it covers that organization's subtree.
    pub enum Role {
        Member = ("member", "党员", "Member"),
        Secretary = ("secretary", "支部书记", "Branch secretary"),
        CommitteeStaff = ("committee_staff", "党委工作人员", "Committee staff"),
        Auditor = ("auditor", "审计员", "Auditor"),
        Admin = ("admin", "管理员", "Administrator"),
    }
}
