//! Who is acting and what their roles cover (DOMAIN.md §2: a user acting for
//! an organization sees that organization's subtree and nothing else).

use dangjian_domain::identity::Role;
use serde::Serialize;

/// A role held at one organization.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub role: Role,
    pub org_id: i64,
    pub org_path: String,
    pub org_name: String,
    pub org_code: String,
}

/// The signed-in user with their grants.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub login: String,
    pub display_name: String,
    pub member_id: Option<i64>,
    pub grants: Vec<Grant>,
    /// Address the request came from, for the audit log.
    pub remote_addr: Option<String>,
}

fn covers(root: &str, path: &str) -> bool {
    path.starts_with(root)
}

impl Actor {
    fn any(&self, roles: &[Role], path: &str) -> bool {
        self.grants
            .iter()
            .any(|g| roles.contains(&g.role) && covers(&g.org_path, path))
    }

    /// May see the organization and the list of members of it (masked).
    pub fn can_view_org(&self, path: &str) -> bool {
        self.any(
            &[
                Role::Secretary,
                Role::CommitteeStaff,
                Role::Auditor,
                Role::Admin,
            ],
            path,
        ) || self
            .grants
            .iter()
            .any(|g| g.role == Role::Member && g.org_path == path)
    }

    /// May list the members of an organization at `path`.
    pub fn can_list_members(&self, path: &str) -> bool {
        self.any(
            &[
                Role::Secretary,
                Role::CommitteeStaff,
                Role::Auditor,
                Role::Admin,
            ],
            path,
        )
    }

    /// May read sensitive fields (ID number, phone) of members at `path`.
    pub fn can_read_sensitive(&self, path: &str) -> bool {
        self.any(&[Role::Secretary, Role::CommitteeStaff, Role::Admin], path)
    }

    /// May register and change members at `path`.
    pub fn can_manage_members(&self, path: &str) -> bool {
        self.any(&[Role::Secretary, Role::CommitteeStaff, Role::Admin], path)
    }

    /// May create, rename, move or dissolve organizations at `path`.
    pub fn can_manage_orgs(&self, path: &str) -> bool {
        self.any(&[Role::CommitteeStaff, Role::Admin], path)
    }

    /// May read the audit log of organizations at `path` (issue 5, item 2).
    pub fn can_read_audit(&self, path: &str) -> bool {
        self.any(&[Role::Auditor, Role::Admin], path)
    }

    /// May create users and grant roles at `path`.
    pub fn can_admin(&self, path: &str) -> bool {
        self.any(&[Role::Admin], path)
    }

    /// Roots of the subtrees this user may browse, without duplicates.
    pub fn browse_roots(&self) -> Vec<&Grant> {
        let mut out: Vec<&Grant> = Vec::new();
        for g in &self.grants {
            if !out.iter().any(|o| covers(&o.org_path, &g.org_path)) {
                out.retain(|o| !covers(&g.org_path, &o.org_path));
                out.push(g);
            }
        }
        out
    }

    /// An actor for the command line with administrator rights over `org`.
    pub fn system(org_id: i64, org_path: &str) -> Self {
        Actor {
            user_id: 0,
            login: "system".into(),
            display_name: "system".into(),
            member_id: None,
            grants: vec![Grant {
                role: Role::Admin,
                org_id,
                org_path: org_path.to_string(),
                org_name: String::new(),
                org_code: String::new(),
            }],
            remote_addr: None,
        }
    }

    /// The user id for audit and history rows (`None` for the system actor).
    pub fn audit_id(&self) -> Option<i64> {
        (self.user_id != 0).then_some(self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, path: &str) -> Actor {
        let mut a = Actor::system(1, path);
        a.grants[0].role = role;
        a
    }

    #[test]
    fn subtree_not_siblings_or_parents() {
        let s = actor(Role::Secretary, "/1/2/5/");
        assert!(s.can_manage_members("/1/2/5/"));
        assert!(s.can_manage_members("/1/2/5/9/"));
        assert!(!s.can_manage_members("/1/2/6/"));
        assert!(!s.can_manage_members("/1/2/"));
        // "/1/2/5/" must not cover "/1/2/50/".
        assert!(!s.can_manage_members("/1/2/50/"));
        assert!(!s.can_manage_orgs("/1/2/5/"));
    }

    #[test]
    fn auditor_reads_masked_only() {
        let a = actor(Role::Auditor, "/1/");
        assert!(a.can_list_members("/1/3/"));
        assert!(!a.can_read_sensitive("/1/3/"));
        assert!(!a.can_manage_members("/1/3/"));
    }
}
