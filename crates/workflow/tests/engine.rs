//! The engine on a small made-up process: order, roles, forms, attachments,
//! hard and soft findings with overrides, side actions and their limits,
//! versions, exits with their own roles and form, the registry of versions
//! with its digests, and timers evaluated against a moving day.

use chrono::{NaiveDate, TimeZone, Utc};
use dangjian_workflow::engine::Prepared;
use dangjian_workflow::*;
use serde_json::json;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn field(key: &str, kind: FieldKind, required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: key.into(),
        label_en: key.into(),
        kind,
        required,
    }
}

fn step(key: &str, n: u32, roles: &[&str], fields: Vec<FieldDef>) -> StepDef {
    StepDef {
        key: key.into(),
        number: n,
        label_zh: key.into(),
        label_en: key.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        fields,
        attachments: vec![],
    }
}

fn r(entry: &str, field: &str) -> DateRef {
    DateRef {
        entry: entry.into(),
        field: field.into(),
    }
}

/// apply → review (within one month, reminder a week before) → approve
/// (needs a report attachment); a side action `note` open from review until
/// approve, at most twice, recurring every 6 months.
fn def() -> ProcessDef {
    let mut approve = step(
        "approve",
        3,
        &["staff"],
        vec![field("on", FieldKind::Date, true)],
    );
    approve.attachments = vec!["report".into()];
    ProcessDef {
        key: "demo".into(),
        version: 2,
        name_zh: "示例".into(),
        name_en: "Demo".into(),
        steps: vec![
            step(
                "apply",
                1,
                &["clerk"],
                vec![
                    field("on", FieldKind::Date, true),
                    field("note", FieldKind::Text, false),
                ],
            ),
            step(
                "review",
                2,
                &["clerk", "staff"],
                vec![
                    field("on", FieldKind::Date, true),
                    field("count", FieldKind::Count, true),
                    field("who", FieldKind::Ids, false),
                ],
            ),
            approve,
        ],
        side_actions: vec![SideActionDef {
            key: "note".into(),
            label_zh: "备注".into(),
            label_en: "Note".into(),
            roles: vec!["clerk".into()],
            fields: vec![
                field("on", FieldKind::Date, true),
                field("months", FieldKind::Count, false),
            ],
            open_from: "review".into(),
            open_until: "approve".into(),
            max_times: Some(2),
        }],
        deadlines: vec![
            DeadlineDef {
                key: "review_due".into(),
                settled_by: "review".into(),
                anchor: vec![r("apply", "on")],
                period: Period::Months(1),
                remind_before_days: 7,
                extra_months: None,
                open_from: None,
                open_until: None,
                rule: "rule 2".into(),
                label_zh: "复核".into(),
                label_en: "Review".into(),
            },
            DeadlineDef {
                key: "note_due".into(),
                settled_by: "note".into(),
                anchor: vec![r("apply", "on"), r("note", "on")],
                period: Period::Months(6),
                remind_before_days: 30,
                extra_months: Some(r("note", "months")),
                open_from: Some("review".into()),
                open_until: Some("approve".into()),
                rule: "rule 6".into(),
                label_zh: "备注".into(),
                label_en: "Note".into(),
            },
        ],
        exits: vec![],
    }
}

fn action(key: &str, roles: &[&str], form: serde_json::Value) -> Action {
    Action {
        key: key.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        actor_user_id: Some(7),
        at: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t"),
        form: form.as_object().cloned().unwrap_or_default(),
        attachments: vec![],
        overrides: vec![],
    }
}

fn run(
    def: &ProcessDef,
    inst: &mut Instance,
    a: &Action,
    f: Vec<Finding>,
) -> Result<Entry, ActError> {
    let p: Prepared = prepare(def, inst, a)?;
    act(def, inst, p, a, f)
}

fn soft(code: &str) -> Finding {
    Finding {
        code: code.into(),
        field: "on".into(),
        rule: "rule 2".into(),
        severity: Severity::Soft,
        message_zh: "晚了".into(),
        message_en: "late".into(),
    }
}

#[test]
fn definition_is_well_formed_and_round_trips_as_data() {
    let def = def();
    assert!(def.check().is_empty(), "{:?}", def.check());
    let text = serde_json::to_string(&def).expect("json");
    let back: ProcessDef = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, def);
    let mut broken = def.clone();
    broken.steps[1].key = "apply".into();
    broken.side_actions[0].open_until = "nowhere".into();
    let problems = broken.check();
    assert!(problems.contains(&"duplicate step, side action or exit key".to_string()));
    assert!(problems.contains(&"side action note names unknown step nowhere".to_string()));
}

#[test]
fn steps_run_in_order_by_allowed_roles() {
    let def = def();
    let mut inst = Instance::new(&def);
    let e = run(
        &def,
        &mut inst,
        &action(
            "review",
            &["clerk"],
            json!({"on": "2026-01-02", "count": 1}),
        ),
        vec![],
    );
    assert!(matches!(e, Err(ActError::OutOfOrder { expected: Some(ref k), .. }) if k == "apply"));
    let e = run(
        &def,
        &mut inst,
        &action("apply", &["staff"], json!({"on": "2026-01-02"})),
        vec![],
    );
    assert!(matches!(e, Err(ActError::RoleNotAllowed { .. })));
    let e = run(
        &def,
        &mut inst,
        &action("nope", &["clerk"], json!({})),
        vec![],
    );
    assert!(matches!(e, Err(ActError::Unknown(_))));
    let e = run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-02"})),
        vec![],
    )
    .expect("apply");
    assert_eq!((e.seq, e.role.as_str()), (1, "clerk"));
    assert_eq!(inst.next_step(&def).map(|s| s.key.as_str()), Some("review"));
    // A step is done once.
    let e = run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-02"})),
        vec![],
    );
    assert!(matches!(e, Err(ActError::OutOfOrder { .. })));
}

#[test]
fn forms_are_typed_and_name_their_fields() {
    let def = def();
    let mut inst = Instance::new(&def);
    let bad = action("apply", &["clerk"], json!({"on": "2026-13-01", "extra": 1}));
    match run(&def, &mut inst, &bad, vec![]) {
        Err(ActError::Form(f)) => {
            let mut fields: Vec<(&str, &str)> = f
                .iter()
                .map(|x| (x.field.as_str(), x.code.as_str()))
                .collect();
            fields.sort();
            assert_eq!(
                fields,
                vec![("extra", "unknown_field"), ("on", "invalid_value")]
            );
        }
        other => panic!("{other:?}"),
    }
    match run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": " "})),
        vec![],
    ) {
        Err(ActError::Form(f)) => assert_eq!(f[0].code, "required"),
        other => panic!("{other:?}"),
    }
    run(
        &def,
        &mut inst,
        &action(
            "apply",
            &["clerk"],
            json!({"on": "2026-01-02", "note": "  hi "}),
        ),
        vec![],
    )
    .expect("apply");
    assert_eq!(inst.history[0].form.text("note"), Some("hi"));
    for (form, field) in [
        (json!({"on": "2026-01-03", "count": -1}), "count"),
        (json!({"on": "2026-01-03", "count": "3"}), "count"),
        (
            json!({"on": "2026-01-03", "count": 3, "who": [1, "x"]}),
            "who",
        ),
        (json!({"on": "2026-01-03", "count": 3, "who": [0]}), "who"),
    ] {
        match run(&def, &mut inst, &action("review", &["clerk"], form), vec![]) {
            Err(ActError::Form(f)) => assert_eq!(f[0].field, field),
            other => panic!("{other:?}"),
        }
    }
    let e = run(
        &def,
        &mut inst,
        &action(
            "review",
            &["staff"],
            json!({"on": "2026-01-03", "count": 3, "who": [4, 5]}),
        ),
        vec![],
    )
    .expect("review");
    assert_eq!(e.form.ids("who"), &[4, 5]);
    assert_eq!(e.form.count("count"), Some(3));
}

#[test]
fn hard_findings_block_soft_ones_need_a_reason() {
    let def = def();
    let mut inst = Instance::new(&def);
    let a = action("apply", &["clerk"], json!({"on": "2026-01-02"}));
    let mut hard = soft("too_young");
    hard.severity = Severity::Hard;
    assert!(
        matches!(run(&def, &mut inst, &a, vec![hard.clone(), soft("late")]), Err(ActError::Blocked(f)) if f == vec![hard])
    );
    assert!(inst.history.is_empty());
    match run(&def, &mut inst, &a, vec![soft("late")]) {
        Err(ActError::NeedsOverride(f)) => assert_eq!(f[0].code, "late"),
        other => panic!("{other:?}"),
    }
    // A blank reason or a reason for another code is no override.
    let mut a2 = a.clone();
    a2.overrides = vec![
        Override {
            code: "late".into(),
            reason: " ".into(),
        },
        Override {
            code: "other".into(),
            reason: "原因说明".into(),
        },
    ];
    assert!(matches!(
        run(&def, &mut inst, &a2, vec![soft("late")]),
        Err(ActError::NeedsOverride(_))
    ));
    a2.overrides.push(Override {
        code: "late".into(),
        reason: " 申请人外出务工 ".into(),
    });
    let e = run(&def, &mut inst, &a2, vec![soft("late")]).expect("overridden");
    assert_eq!(
        e.overrides,
        vec![Override {
            code: "late".into(),
            reason: "申请人外出务工".into()
        }]
    );
    assert_eq!(e.warnings[0].code, "late");
}

#[test]
fn attachments_side_actions_completion_and_cancel() {
    let def = def();
    let mut inst = Instance::new(&def);
    let note = action("note", &["clerk"], json!({"on": "2026-01-05"}));
    assert!(matches!(
        run(&def, &mut inst, &note, vec![]),
        Err(ActError::SideClosed(_))
    ));
    run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-02"})),
        vec![],
    )
    .expect("apply");
    // Open once the process reached `review`.
    run(&def, &mut inst, &note, vec![]).expect("note 1");
    run(&def, &mut inst, &note, vec![]).expect("note 2");
    assert!(matches!(
        run(&def, &mut inst, &note, vec![]),
        Err(ActError::SideLimit { max: 2, .. })
    ));
    assert_eq!(inst.steps_done(), 1);
    run(
        &def,
        &mut inst,
        &action(
            "review",
            &["clerk"],
            json!({"on": "2026-01-06", "count": 0}),
        ),
        vec![],
    )
    .expect("review");
    let approve = action("approve", &["staff"], json!({"on": "2026-01-07"}));
    assert!(
        matches!(run(&def, &mut inst, &approve, vec![]), Err(ActError::MissingAttachments(m)) if m == vec!["report".to_string()])
    );
    let mut with = approve.clone();
    with.attachments = vec!["report".into()];
    run(&def, &mut inst, &with, vec![]).expect("approve");
    assert_eq!(inst.status, Status::Completed);
    assert!(matches!(
        run(&def, &mut inst, &note, vec![]),
        Err(ActError::Closed(Status::Completed))
    ));

    let mut other = Instance::new(&def);
    cancel(&def, &mut other, Some(1), "clerk", with.at, "本人撤回申请").expect("cancel");
    assert_eq!(other.status, Status::Cancelled);
    assert!(cancel(&def, &mut other, Some(1), "clerk", with.at, "again").is_err());
}

#[test]
fn an_instance_stays_on_its_version() {
    let def = def();
    let inst = Instance::new(&def);
    let mut v3 = def.clone();
    v3.version = 3;
    let e = prepare(
        &v3,
        &inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-02"})),
    );
    assert!(matches!(
        e,
        Err(ActError::WrongDefinition {
            found_version: 2,
            ..
        })
    ));
}

#[test]
fn timers_follow_history_and_the_day() {
    let def = def();
    let mut inst = Instance::new(&def);
    assert!(plan_timers(&def, &inst).is_empty());
    run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-31"})),
        vec![],
    )
    .expect("apply");
    let t = plan_timers(&def, &inst);
    // One month after 31 January is the last day of February.
    let review = t
        .iter()
        .find(|t| t.key == "review_due")
        .expect("review timer");
    assert_eq!(
        (review.due_on, review.remind_on),
        (d(2026, 2, 28), d(2026, 2, 21))
    );
    assert_eq!(timer_state(review, d(2026, 2, 20)), TimerState::Pending);
    assert_eq!(timer_state(review, d(2026, 2, 21)), TimerState::DueSoon);
    assert_eq!(timer_state(review, d(2026, 2, 28)), TimerState::DueSoon);
    assert_eq!(timer_state(review, d(2026, 3, 1)), TimerState::Overdue);
    // The recurring note timer runs from the apply date, then from each note,
    // plus the months a note records.
    let note = t.iter().find(|t| t.key == "note_due").expect("note timer");
    assert_eq!(note.due_on, d(2026, 7, 31));
    run(
        &def,
        &mut inst,
        &action("note", &["clerk"], json!({"on": "2026-03-10", "months": 2})),
        vec![],
    )
    .expect("note");
    let t = plan_timers(&def, &inst);
    let note = t.iter().find(|t| t.key == "note_due").expect("note timer");
    assert_eq!(note.due_on, d(2026, 11, 10));
    run(
        &def,
        &mut inst,
        &action(
            "review",
            &["clerk"],
            json!({"on": "2026-03-11", "count": 1}),
        ),
        vec![],
    )
    .expect("review");
    let keys: Vec<String> = plan_timers(&def, &inst)
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(keys, vec!["note_due".to_string()]);
    let mut approve = action("approve", &["staff"], json!({"on": "2026-03-12"}));
    approve.attachments = vec!["report".into()];
    run(&def, &mut inst, &approve, vec![]).expect("approve");
    assert!(plan_timers(&def, &inst).is_empty());
}

/// The demo process with two exits: `withdraw` by the clerk, `reject` by
/// the staff, each with a required reason.
fn def_with_exits() -> ProcessDef {
    let mut d = def();
    d.version = 4;
    for (key, role) in [("withdraw", "clerk"), ("reject", "staff")] {
        d.exits.push(ExitDef {
            key: key.into(),
            label_zh: key.into(),
            label_en: key.into(),
            roles: vec![role.into()],
            fields: vec![field("reason", FieldKind::Text, true)],
        });
    }
    d
}

#[test]
fn exits_have_their_roles_and_need_their_reason() {
    let def = def_with_exits();
    let plain = self::def();
    assert!(def.check().is_empty(), "{:?}", def.check());
    let mut inst = Instance::new(&def);
    run(
        &def,
        &mut inst,
        &action("apply", &["clerk"], json!({"on": "2026-01-02"})),
        vec![],
    )
    .expect("apply");
    // The staff may not withdraw; the clerk may, but not without a reason.
    assert!(matches!(
        run(
            &def,
            &mut inst,
            &action("withdraw", &["staff"], json!({"reason": "x y"})),
            vec![]
        ),
        Err(ActError::RoleNotAllowed { .. })
    ));
    match run(
        &def,
        &mut inst,
        &action("withdraw", &["clerk"], json!({"reason": "  "})),
        vec![],
    ) {
        Err(ActError::Form(f)) => {
            assert_eq!(
                (f[0].field.as_str(), f[0].code.as_str()),
                ("reason", "required")
            )
        }
        other => panic!("{other:?}"),
    }
    let e = run(
        &def,
        &mut inst,
        &action("withdraw", &["clerk"], json!({"reason": "本人撤回"})),
        vec![],
    )
    .expect("withdraw");
    assert_eq!(
        (e.kind, e.key.as_str(), e.role.as_str()),
        (EntryKind::Cancel, "withdraw", "clerk")
    );
    assert_eq!(e.form.text("reason"), Some("本人撤回"));
    assert_eq!(inst.status, Status::Cancelled);
    assert!(
        plan_timers(&def, &inst).is_empty(),
        "a closed run has no deadline"
    );
    // Closed: neither exit applies any more.
    assert!(matches!(
        run(
            &def,
            &mut inst,
            &action("reject", &["staff"], json!({"reason": "不符合"})),
            vec![]
        ),
        Err(ActError::Closed(Status::Cancelled))
    ));
    // A definition without exits serializes as before (its digest holds).
    assert!(!canonical_json(&plain).contains("exits"));
    assert!(canonical_json(&def).contains("\"exits\""));
}

#[test]
fn the_registry_serves_versions_and_catches_an_edit_without_a_bump() {
    let mut reg = Registry::new();
    reg.register(def()).expect("v2");
    reg.register(def_with_exits()).expect("v4");
    assert_eq!(
        reg.register(def()),
        Err(RegistryError::Duplicate {
            key: "demo".into(),
            version: 2
        })
    );
    let mut broken = def();
    broken.version = 9;
    broken.steps[0].roles.clear();
    assert!(matches!(
        reg.register(broken),
        Err(RegistryError::Malformed { .. })
    ));

    // New runs start on the latest version; a run keeps its own.
    assert_eq!(reg.latest("demo").expect("latest").version, 4);
    assert_eq!(reg.versions("demo"), vec![2, 4]);
    let old = Instance::new(reg.get("demo", 2).expect("v2"));
    assert_eq!(old.version, 2);
    let on_its_version = reg.get("demo", old.version).expect("its version");
    assert!(
        prepare(
            on_its_version,
            &old,
            &action("apply", &["clerk"], json!({"on": "2026-01-02"}))
        )
        .is_ok()
    );
    assert!(matches!(
        prepare(
            reg.latest("demo").expect("latest"),
            &old,
            &action("apply", &["clerk"], json!({"on": "2026-01-02"}))
        ),
        Err(ActError::WrongDefinition {
            found_version: 2,
            ..
        })
    ));
    // Unknown versions and processes are named.
    let e = reg.get("demo", 3).expect_err("no v3");
    assert_eq!(
        e,
        RegistryError::UnknownVersion {
            key: "demo".into(),
            version: 3,
            known: vec![2, 4]
        }
    );
    assert!(e.to_string().contains("no version 3"), "{e}");
    assert_eq!(
        reg.latest("nope").map(|d| d.version),
        Err(RegistryError::UnknownProcess("nope".into()))
    );

    // Digests: stable for equal definitions, different on any change.
    assert_eq!(digest(&def()), digest(&def()));
    assert_eq!(digest(&def()).len(), 64);
    let stored: Vec<StoredDef> = reg
        .all()
        .map(|d| StoredDef {
            key: d.key.clone(),
            version: d.version,
            digest: digest(d),
        })
        .collect();
    assert!(reg.check_stored(&stored).is_ok());
    assert_eq!(reg.missing(&stored).count(), 0);
    assert_eq!(
        reg.missing(&stored[..1])
            .map(|d| d.version)
            .collect::<Vec<_>>(),
        vec![4]
    );
    // The same key and version with other content: an edit without a bump.
    let mut edited = Registry::new();
    let mut v2 = def();
    v2.steps[1].label_zh = "复核（改）".into();
    edited.register(v2).expect("edited v2");
    let e = edited.check_stored(&stored).expect_err("changed");
    assert_eq!(
        e,
        RegistryError::Changed {
            key: "demo".into(),
            version: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "definition demo v2 changed without a version bump"
    );
}
