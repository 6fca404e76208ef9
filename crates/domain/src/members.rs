//! Members: stages, statuses and the registry's validation rules (DOMAIN.md §3).


code_enum! {
    /// Stage of a person on the road to full membership (DOMAIN.md §3), in order.
    pub enum Stage {
        Applicant = ("applicant", "入党申请人", "Applicant"),
        Activist = ("activist", "入党积极分子", "Activist"),
        DevelopmentTarget = ("development_target", "发展对象", "Development target"),
        Probationary = ("probationary", "预备党员", "Probationary member"),
        Full = ("full", "正式党员", "Full member"),
    }
}

code_enum! {
    /// Whether a registration is active, or how it ended (DOMAIN.md §3).
    pub enum MemberStatus {
        Active = ("active", "在册", "Active"),
        TransferredOut = ("transferred_out", "已转出", "Transferred out"),
        Deceased = ("deceased", "已去世", "Deceased"),
        Expelled = ("expelled", "出党", "Expelled or removed"),
        Withdrawn = ("withdrawn", "自行脱党", "Self-withdrawn"),
    }
}

code_enum! {
    /// Sex, derived from the resident ID number, never typed (DOMAIN.md §3).
    pub enum Sex {
        Male = ("male", "男", "Male"),
        Female = ("female", "女", "Female"),
    }
}

code_enum! {
    /// Highest education completed.
    pub enum Education {
        Primary = ("primary", "小学", "Primary school"),
        Junior = ("junior", "初中", "Junior secondary"),
        Senior = ("senior", "高中", "Senior secondary"),
        Vocational = ("vocational", "中专", "Vocational secondary"),
        College = ("college", "大专", "Junior college"),
        Bachelor = ("bachelor", "本科", "Bachelor"),
        Master = ("master", "硕士", "Master"),
        Doctor = ("doctor", "博士", "Doctorate"),
    }
}
