//! Organization tree stories (DOMAIN.md §2) on the backend the environment
//! selects: creating the tree, the parent/child kind rules (refused with field
//! `kind`), renaming with history, moving a subtree (paths, depths and subtree
//! queries of every descendant), dissolving (refused while members or active
//! children remain, archived never deleted), and the history of each.

mod common;

use common::*;
use dangjian_app::AppError;
use dangjian_domain::orgs::{OrgKind, OrgSetting, OrgStatus};

#[tokio::test]
async fn fixture_tree_has_paths_depths_and_subtrees() {
    let fx = Fixture::new().await;
    let levels = [
        (&fx.province, 0, OrgKind::Province, None),
        (&fx.city, 1, OrgKind::City, Some(fx.province.id)),
        (&fx.county, 2, OrgKind::County, Some(fx.city.id)),
        (&fx.committee, 3, OrgKind::Committee, Some(fx.county.id)),
        (&fx.branch_a, 4, OrgKind::Branch, Some(fx.committee.id)),
        (&fx.branch_b, 4, OrgKind::Branch, Some(fx.committee.id)),
    ];
    for (o, depth, kind, parent) in levels {
        assert_eq!(o.depth, depth, "{}", o.code);
        assert_eq!(o.kind, kind, "{}", o.code);
        assert_eq!(o.parent_id, parent, "{}", o.code);
        assert_eq!(o.status, OrgStatus::Active);
        let parent_path = match parent {
            Some(_) => levels
                .iter()
                .find(|l| Some(l.0.id) == parent)
                .map(|l| l.0.path.clone())
                .unwrap_or_default(),
            None => "/".to_string(),
        };
        assert_eq!(o.path, format!("{parent_path}{}/", o.id), "{}", o.code);
    }

    let all = fx.app.org_subtree(&fx.sys, PROVINCE, 10).await.unwrap();
    assert_eq!(all.len(), 6);
    let two_levels = fx.app.org_subtree(&fx.sys, PROVINCE, 2).await.unwrap();
    let codes: Vec<&str> = two_levels.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes, [PROVINCE, CITY, COUNTY]);
    let under_committee = fx.app.org_subtree(&fx.sys, COMMITTEE, 1).await.unwrap();
    let mut codes: Vec<&str> = under_committee.iter().map(|o| o.code.as_str()).collect();
    codes.sort();
    assert_eq!(codes, [COMMITTEE, BRANCH_A, BRANCH_B]);

    let detail = fx.app.org_detail(&fx.sys, COMMITTEE).await.unwrap();
    assert_eq!(detail.parent.map(|p| p.code), Some(COUNTY.to_string()));
    let children: Vec<String> = detail.children.into_iter().map(|c| c.code).collect();
    assert_eq!(children, [BRANCH_A, BRANCH_B]);

    let roots = fx.app.org_roots(&fx.sys).await.unwrap();
    assert_eq!(
        roots.into_iter().map(|o| o.code).collect::<Vec<_>>(),
        [PROVINCE]
    );
}

#[tokio::test]
async fn kind_rules_are_refused_with_field_kind() {
    let fx = Fixture::new().await;
    let refused = [
        // A county sits under a city, never directly under a province.
        ("SX-X9", OrgKind::County, PROVINCE),
        // A grassroots committee holds branches, not party groups.
        ("SX-G9", OrgKind::Group, COMMITTEE),
        // A branch holds party groups only.
        ("SX-B9", OrgKind::Branch, BRANCH_A),
        // Nothing above a province inside a province.
        ("SX-Z9", OrgKind::Central, PROVINCE),
    ];
    for (code, kind, parent) in refused {
        let r = fx
            .app
            .create_org(
                &fx.sys,
                org_input(code, "新设组织", kind, OrgSetting::Other, Some(parent)),
            )
            .await;
        assert_eq!(fields_of(r), ["kind"], "{kind:?} under {parent}");
    }
    // A party group under a branch is fine.
    let g = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-BA-G1",
                "第一党小组",
                OrgKind::Group,
                OrgSetting::Village,
                Some(BRANCH_A),
            ),
        )
        .await
        .unwrap();
    assert_eq!(g.depth, 5);
    // Codes are unique.
    let dup = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-BA-G1",
                "第二党小组",
                OrgKind::Group,
                OrgSetting::Village,
                Some(BRANCH_A),
            ),
        )
        .await;
    match dup {
        Err(AppError::Conflict(e)) => assert_eq!(e.field, "code"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Only the CLI's system actor creates roots.
    let staff = fx
        .user(dangjian_domain::identity::Role::Admin, PROVINCE)
        .await;
    let root = fx
        .app
        .create_org(
            &staff,
            org_input(
                "ZZ",
                "另一省委",
                OrgKind::Province,
                OrgSetting::StateOrgan,
                None,
            ),
        )
        .await;
    assert!(matches!(root, Err(AppError::Forbidden)), "{root:?}");
}

#[tokio::test]
async fn rename_keeps_the_old_name_in_history() {
    let fx = Fixture::new().await;
    let renamed = fx
        .app
        .rename_org(&fx.sys, BRANCH_A, "  青松村第一党支部 ")
        .await
        .unwrap();
    assert_eq!(renamed.name, "青松村第一党支部");
    assert_eq!(renamed.path, fx.branch_a.path);
    assert_eq!(renamed.code, BRANCH_A);

    let h = fx.app.org_history(&fx.sys, BRANCH_A).await.unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["created", "renamed"]);
    assert_eq!(h[1].detail["from"], BRANCH_A_NAME);
    assert_eq!(h[1].detail["to"], "青松村第一党支部");
    assert_eq!(h[1].at, fixture_now());
    assert_eq!(h[1].actor_user_id, None, "the system actor has no user id");

    // An empty name names its field.
    let r = fx.app.rename_org(&fx.sys, BRANCH_A, "   ").await;
    assert_eq!(fields_of(r), ["name"]);

    // A signed-in administrator's rename records who did it.
    let admin = fx
        .user(dangjian_domain::identity::Role::Admin, COUNTY)
        .await;
    fx.app
        .rename_org(&admin, BRANCH_A, "青松村党支部")
        .await
        .unwrap();
    let h = fx.app.org_history(&fx.sys, BRANCH_A).await.unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].actor_user_id, Some(admin.user_id));

    // A branch secretary may not rename organizations.
    let sec = fx
        .user(dangjian_domain::identity::Role::Secretary, BRANCH_A)
        .await;
    let r = fx.app.rename_org(&sec, BRANCH_A, "改名党支部").await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn move_reparents_a_whole_subtree() {
    let fx = Fixture::new().await;
    // A second committee to move branch A (with two party groups) under.
    let w2 = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-C1-X1-W2",
                "西岭镇党委",
                OrgKind::Committee,
                OrgSetting::Village,
                Some(COUNTY),
            ),
        )
        .await
        .unwrap();
    let mut groups = Vec::new();
    for (i, name) in ["第一党小组", "第二党小组"].iter().enumerate() {
        groups.push(
            fx.app
                .create_org(
                    &fx.sys,
                    org_input(
                        &format!("{BRANCH_A}-G{}", i + 1),
                        name,
                        OrgKind::Group,
                        OrgSetting::Village,
                        Some(BRANCH_A),
                    ),
                )
                .await
                .unwrap(),
        );
    }
    // A member in branch A moves with it.
    let m = fx.register(BRANCH_A, draft(1)).await;

    let moved = fx
        .app
        .move_org(&fx.sys, BRANCH_A, "SX-C1-X1-W2")
        .await
        .unwrap();
    assert_eq!(moved.parent_id, Some(w2.id));
    assert_eq!(moved.path, format!("{}{}/", w2.path, fx.branch_a.id));
    assert_eq!(moved.depth, w2.depth + 1);

    // Every descendant's path and depth follow.
    let sub = fx.app.org_subtree(&fx.sys, BRANCH_A, 5).await.unwrap();
    assert_eq!(sub.len(), 3);
    for g in &groups {
        let now = sub
            .iter()
            .find(|o| o.id == g.id)
            .expect("group moved along");
        assert_eq!(now.path, format!("{}{}/", moved.path, g.id));
        assert_eq!(now.depth, moved.depth + 1);
        assert_eq!(now.parent_id, Some(fx.branch_a.id));
    }

    // Subtree queries: the new committee holds A and its groups, the old one
    // only B; the county and province still hold everything.
    let codes = |v: Vec<dangjian_app::orgs::OrgView>| {
        let mut c: Vec<String> = v.into_iter().map(|o| o.code).collect();
        c.sort();
        c
    };
    assert_eq!(
        codes(
            fx.app
                .org_subtree(&fx.sys, "SX-C1-X1-W2", 10)
                .await
                .unwrap()
        ),
        [
            "SX-C1-X1-W1-BA",
            "SX-C1-X1-W1-BA-G1",
            "SX-C1-X1-W1-BA-G2",
            "SX-C1-X1-W2"
        ]
    );
    assert_eq!(
        codes(fx.app.org_subtree(&fx.sys, COMMITTEE, 10).await.unwrap()),
        [COMMITTEE, BRANCH_B]
    );
    assert_eq!(
        fx.app
            .org_subtree(&fx.sys, PROVINCE, 10)
            .await
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        fx.app
            .org_detail(&fx.sys, "SX-C1-X1-W2")
            .await
            .unwrap()
            .members_in_subtree,
        1
    );
    assert_eq!(
        fx.app
            .org_detail(&fx.sys, COMMITTEE)
            .await
            .unwrap()
            .members_in_subtree,
        0
    );
    // The member is still found through the new subtree.
    let found = fx
        .app
        .search_by_id_number(
            &fx.user(dangjian_domain::identity::Role::Secretary, "SX-C1-X1-W2")
                .await,
            &id_number(1),
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|s| s.id).collect::<Vec<_>>(), [m.id]);

    // History of the moved organization.
    let h = fx.app.org_history(&fx.sys, BRANCH_A).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.action, "moved");
    assert_eq!(last.detail["from_parent"], fx.committee.id);
    assert_eq!(last.detail["to_parent"], w2.id);

    // Refused: under its own subtree, and under a kind that cannot hold it.
    let r = fx
        .app
        .move_org(&fx.sys, "SX-C1-X1-W2", &format!("{BRANCH_A}-G1"))
        .await;
    assert_eq!(fields_of(r), ["parent_code"]);
    let r = fx.app.move_org(&fx.sys, BRANCH_A, BRANCH_B).await;
    assert_eq!(fields_of(r), ["parent_code"]);
    // A secretary may not move organizations.
    let sec = fx
        .user(dangjian_domain::identity::Role::Secretary, COUNTY)
        .await;
    let r = fx.app.move_org(&sec, BRANCH_B, "SX-C1-X1-W2").await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn move_keeps_sibling_prefixes_apart() {
    // Ids 1 and 10, 2 and 20, ... share a textual prefix; moving one subtree
    // must not touch the other's paths.
    let fx = Fixture::new().await;
    let mut branches = vec![fx.branch_a.clone(), fx.branch_b.clone()];
    for i in 0..12 {
        branches.push(
            fx.app
                .create_org(
                    &fx.sys,
                    org_input(
                        &format!("SX-N{i:02}"),
                        &format!(
                            "第{}号党支部",
                            [
                                "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "甲",
                                "乙"
                            ][i]
                        ),
                        OrgKind::Branch,
                        OrgSetting::Other,
                        Some(COMMITTEE),
                    ),
                )
                .await
                .unwrap(),
        );
    }
    let before = fx.app.org_subtree(&fx.sys, PROVINCE, 10).await.unwrap();
    // Pick a branch whose id is a textual prefix of another's, if any.
    let prefix = branches
        .iter()
        .find(|b| {
            branches
                .iter()
                .any(|o| o.id != b.id && o.id.to_string().starts_with(&b.id.to_string()))
        })
        .cloned()
        .unwrap_or_else(|| fx.branch_a.clone());
    let moved = fx.app.move_org(&fx.sys, &prefix.code, CITY).await.unwrap();
    assert_eq!(moved.depth, 2);
    let after = fx.app.org_subtree(&fx.sys, PROVINCE, 10).await.unwrap();
    for o in &after {
        let old = before.iter().find(|b| b.id == o.id).unwrap();
        if o.id == prefix.id {
            assert_eq!(o.path, format!("{}{}/", fx.city.path, o.id));
        } else {
            assert_eq!(o.path, old.path, "{} must not move", o.code);
            assert_eq!(o.depth, old.depth, "{} must not move", o.code);
        }
    }
}

#[tokio::test]
async fn dissolve_is_refused_while_members_or_children_remain() {
    let fx = Fixture::new().await;
    let m = fx.register(BRANCH_B, draft(7)).await;

    for code in [BRANCH_B, COMMITTEE] {
        match fx.app.dissolve_org(&fx.sys, code).await {
            Err(AppError::Conflict(e)) => {
                assert_eq!(e.field, "code");
                assert_eq!(e.code, "not_empty");
            }
            other => panic!("dissolving {code} must be refused, got {other:?}"),
        }
    }
    // Branch A is empty: archived, not deleted.
    let d = fx.app.dissolve_org(&fx.sys, BRANCH_A).await.unwrap();
    assert_eq!(d.status, OrgStatus::Dissolved);
    let still = fx.app.org_detail(&fx.sys, BRANCH_A).await.unwrap();
    assert_eq!(still.org.status, OrgStatus::Dissolved);
    let h = fx.app.org_history(&fx.sys, BRANCH_A).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["created", "dissolved"]
    );
    // Nothing new goes into a dissolved organization.
    let r = fx.app.register_member(&fx.sys, BRANCH_A, draft(8)).await;
    assert_eq!(fields_of(r), ["org"]);
    let r = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-BA-G1",
                "第一党小组",
                OrgKind::Group,
                OrgSetting::Village,
                Some(BRANCH_A),
            ),
        )
        .await;
    assert_eq!(fields_of(r), ["parent_code"]);
    // B still holds its member.
    let detail = fx.app.member_detail(&fx.sys, m.id).await.unwrap();
    assert_eq!(detail.org.code, BRANCH_B);
}

#[tokio::test]
async fn organizations_outside_the_subtree_do_not_exist_for_the_user() {
    let fx = Fixture::new().await;
    let sec_a = fx
        .user(dangjian_domain::identity::Role::Secretary, BRANCH_A)
        .await;
    for code in [BRANCH_B, COMMITTEE, PROVINCE, "NO-SUCH"] {
        let r = fx.app.org_detail(&sec_a, code).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{code}: {r:?}");
    }
    let own = fx.app.org_detail(&sec_a, BRANCH_A).await.unwrap();
    assert!(own.parent.is_none(), "the committee is outside A's subtree");
    let roots = fx.app.org_roots(&sec_a).await.unwrap();
    assert_eq!(
        roots.into_iter().map(|o| o.code).collect::<Vec<_>>(),
        [BRANCH_A]
    );
}
