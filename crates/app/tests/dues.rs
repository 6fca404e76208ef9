//! Dues collection stories (DOMAIN.md §7, §6) on the backend the
//! environment selects: annual bases with their history and the mid-year
//! rule; monthly sheets generated idempotently; payments, special payments
//! and reversing corrections; arrears warnings after three and six unpaid
//! months walked with a test clock (a flag, never a removal); reports; who
//! sees what; input errors that name their field.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use dangjian_app::AppError;
use dangjian_app::dues::{BaseInput, PaymentInput};
use dangjian_domain::dues_ledger::{PaymentKind, PaymentMethod};
use dangjian_domain::identity::Role;
use dangjian_domain::warnings::RuleId;
use dangjian_store::entities::{member, warning};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// 10:00 in Beijing on that day.
fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).single().unwrap()
}

async fn open_warnings(fx: &Fixture, rule: RuleId, member_id: i64) -> Vec<warning::Model> {
    warning::Entity::find()
        .filter(warning::Column::Rule.eq(rule.as_str()))
        .filter(warning::Column::SubjectId.eq(member_id))
        .filter(warning::Column::SubjectKind.eq("member"))
        .order_by_asc(warning::Column::Id)
        .all(&fx.app.db.conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|w| w.state == "open")
        .collect()
}

fn income(year: i32, yuan: &str) -> BaseInput {
    BaseInput {
        year,
        income: Some(yuan.into()),
        ..Default::default()
    }
}

fn pay(kind: PaymentKind, amount: &str, reference: &str) -> PaymentInput {
    PaymentInput {
        kind,
        method: PaymentMethod::Cash,
        amount: amount.into(),
        reference: reference.into(),
        paid_on: None,
        approval_ref: None,
    }
}

fn noop(_: u64, _: u64) {}

#[tokio::test]
async fn a_year_of_dues_with_arrears_flags() {
    let fx = Fixture::new().await;
    let m = fx.register(BRANCH_A, draft(1)).await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    fx.clock.set(at(2026, 1, 5));

    // DOMAIN.md §7: 4000 yuan after tax, employed → 1% = 40.00 yuan.
    let b = fx
        .app
        .set_dues_base(&sec, m.id, income(2026, "4000"))
        .await
        .unwrap();
    assert_eq!((b.fee_fen, b.effective_from), (4000, date(2026, 1, 1)));

    // Generating twice creates each charge once.
    let r = fx
        .app
        .generate_dues(&sec, BRANCH_A, "2026-01", &noop)
        .await
        .unwrap();
    assert_eq!(r.charges_created, 1);
    let r = fx
        .app
        .generate_dues(&sec, BRANCH_A, "2026-01", &noop)
        .await
        .unwrap();
    assert_eq!(r.charges_created, 0);

    // January paid in cash with a receipt.
    fx.app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Regular, "40", "收据0001"))
        .await
        .unwrap();
    // More than owed is refused: an advance needs an approval.
    let e = fx
        .app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Regular, "40", "收据0002"))
        .await;
    assert_eq!(fields_of(e), vec!["amount"]);

    // February to July unpaid; the sheet is generated each month.
    for mo in 2..=7 {
        fx.clock.set(at(2026, mo, 2));
        fx.app
            .generate_dues(&sec, BRANCH_A, &format!("2026-{mo:02}"), &noop)
            .await
            .unwrap();
        fx.app.sweep_dues().await.unwrap();
        let three = open_warnings(&fx, RuleId::DuesArrears3m, m.id).await;
        let six = open_warnings(&fx, RuleId::DuesArrears6m, m.id).await;
        // Unpaid ended months: Feb..(mo-1).
        let unpaid = mo - 2;
        assert_eq!(three.len(), usize::from(unpaid >= 3), "month {mo}");
        assert!(six.is_empty(), "month {mo}");
    }
    // 1 August: Feb–Jul, six consecutive months → red flag (DOMAIN.md §6).
    fx.clock.set(at(2026, 8, 1));
    fx.app.sweep_dues().await.unwrap();
    let six = open_warnings(&fx, RuleId::DuesArrears6m, m.id).await;
    assert_eq!(six.len(), 1);
    assert_eq!(six[0].level, "red");
    assert_eq!(six[0].period_key, "2026-02");
    // Never an automatic removal.
    let row = member::Entity::find_by_id(m.id)
        .one(&fx.app.db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "active");

    let d = fx.app.member_dues(&sec, m.id).await.unwrap();
    assert_eq!(
        (d.status.due_fen, d.status.paid_fen, d.status.balance_fen),
        (28_000, 4000, 24_000)
    );
    assert_eq!(d.status.months_in_arrears, 6);

    // Paying everything owed clears both warnings through the engine.
    let p = fx
        .app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Regular, "240.00", "收据0003"))
        .await
        .unwrap();
    assert!(
        open_warnings(&fx, RuleId::DuesArrears6m, m.id)
            .await
            .is_empty()
    );
    assert!(
        open_warnings(&fx, RuleId::DuesArrears3m, m.id)
            .await
            .is_empty()
    );

    // A wrong entry is corrected by a reversing entry, once.
    let c = fx
        .app
        .reverse_dues_payment(&sec, p.id, "收据号录错")
        .await
        .unwrap();
    assert_eq!(c.amount_fen, -24_000);
    assert_eq!(c.reverses_id, Some(p.id));
    assert!(matches!(
        fx.app.reverse_dues_payment(&sec, p.id, "再次冲销").await,
        Err(AppError::Conflict(_))
    ));
    assert_eq!(
        open_warnings(&fx, RuleId::DuesArrears6m, m.id).await.len(),
        1
    );
    let d = fx.app.member_dues(&sec, m.id).await.unwrap();
    assert_eq!(d.status.balance_fen, 24_000);
    assert!(d.payments.iter().any(|p| p.reversed));

    // Voluntary payment over 1000 yuan: special, reported upward; not dues.
    let v = fx
        .app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Voluntary, "1000.01", "转账9"))
        .await
        .unwrap();
    assert!(v.special);
    let d = fx.app.member_dues(&sec, m.id).await.unwrap();
    assert_eq!(
        (d.status.balance_fen, d.status.voluntary_fen),
        (24_000, 100_001)
    );

    // Advance payment needs an approval.
    let mut adv = pay(PaymentKind::Advance, "480", "转账10");
    assert_eq!(
        fields_of(fx.app.record_dues_payment(&sec, m.id, adv.clone()).await),
        vec!["approval_ref"]
    );
    adv.approval_ref = Some("东湖镇党委〔2026〕5号".into());
    fx.app.record_dues_payment(&sec, m.id, adv).await.unwrap();
    let d = fx.app.member_dues(&sec, m.id).await.unwrap();
    assert_eq!(d.status.balance_fen, -24_000);
    assert_eq!(d.status.months_in_arrears, 0);

    // The committee's report across its subtree.
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let r = fx
        .app
        .dues_report(&staff, COMMITTEE, "2026-01", "2026-08")
        .await
        .unwrap();
    assert_eq!(r.months.len(), 8);
    assert_eq!(r.months[0].due_fen, 4000);
    assert_eq!(r.months[0].rate_bp, Some(10_000));
    assert_eq!(r.months[1].rate_bp, Some(0));
    let xlsx = fx
        .app
        .dues_report_xlsx(&staff, COMMITTEE, "2026-01", "2026-08")
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"));

    // Payments and corrections are archive events in the verified ledger.
    let rep = fx.app.ledger_verify().await.unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

#[tokio::test]
async fn bases_history_and_the_mid_year_rule() {
    let fx = Fixture::new().await;
    let m = fx.register(BRANCH_A, draft(2)).await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    fx.clock.set(at(2026, 5, 20));
    let b = fx
        .app
        .set_dues_base(&sec, m.id, income(2026, "3000"))
        .await
        .unwrap();
    assert_eq!((b.fee_fen, b.effective_from), (1500, date(2026, 1, 1)));
    // A change within the year waits for next year…
    let b = fx
        .app
        .set_dues_base(&sec, m.id, income(2026, "6000"))
        .await
        .unwrap();
    assert_eq!((b.fee_fen, b.effective_from), (9000, date(2027, 1, 1)));
    // …unless approved: then from next month, with the approval recorded.
    let mut i = income(2026, "5000");
    i.approval_ref = Some("支部〔2026〕2号".into());
    let b = fx.app.set_dues_base(&sec, m.id, i).await.unwrap();
    assert_eq!((b.fee_fen, b.effective_from), (5000, date(2026, 6, 1)));
    assert_eq!(b.approval_ref.as_deref(), Some("支部〔2026〕2号"));

    fx.app
        .generate_dues(&sec, BRANCH_A, "2026-05", &noop)
        .await
        .unwrap();
    fx.app
        .generate_dues(&sec, BRANCH_A, "2026-06", &noop)
        .await
        .unwrap();
    let d = fx.app.member_dues(&sec, m.id).await.unwrap();
    let fees: Vec<i64> = d.charges.iter().map(|c| c.fee_fen).collect();
    assert_eq!(fees, vec![1500, 5000]);
    assert_eq!(d.bases.len(), 3);
    assert_eq!(d.bases[0].income_fen, Some(600_000));

    // Exemption needs an approval; with it the fee is zero.
    let mut ex = BaseInput {
        year: 2027,
        relief: Some("exempt".into()),
        ..Default::default()
    };
    assert_eq!(
        fields_of(fx.app.set_dues_base(&sec, m.id, ex.clone()).await),
        vec!["approval_ref"]
    );
    ex.approval_ref = Some("东湖镇党委〔2026〕9号".into());
    ex.income = Some("2000".into());
    assert_eq!(
        fx.app.set_dues_base(&sec, m.id, ex).await.unwrap().fee_fen,
        0
    );

    // Bad input names its field; never a panic.
    for (inp, field) in [
        (income(2026, "-5"), "income"),
        (income(2026, "12.345"), "income"),
        (income(2026, "abc"), "income"),
        (income(2020, "100"), "year"),
    ] {
        assert_eq!(
            fields_of(fx.app.set_dues_base(&sec, m.id, inp).await),
            vec![field]
        );
    }
    assert_eq!(
        fields_of(fx.app.generate_dues(&sec, BRANCH_A, "2026-13", &noop).await),
        vec!["month"]
    );
    assert_eq!(
        fields_of(
            fx.app
                .dues_report(&sec, BRANCH_A, "2026-05", "2026-01")
                .await
        ),
        vec!["to"]
    );
}

#[tokio::test]
async fn members_see_their_own_and_siblings_see_nothing() {
    let fx = Fixture::new().await;
    let a = fx.register(BRANCH_A, draft(3)).await;
    let other = fx.register(BRANCH_A, draft(4)).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let me = fx.user_for_member(Role::Member, BRANCH_A, Some(a.id)).await;
    fx.clock.set(at(2026, 3, 3));

    // The member declares their own base; the secretary sees it.
    let b = fx
        .app
        .set_dues_base(&me, a.id, income(2026, "12000"))
        .await
        .unwrap();
    assert_eq!((b.fee_fen, b.declared_by.as_str()), (24_000, "member"));
    let own = fx.app.member_dues(&me, a.id).await.unwrap();
    assert_eq!(own.bases[0].income_fen, Some(1_200_000));
    assert!(!own.can_record);
    // Reading the income base is audited.
    assert!(!fx.audit_rows("dues.read_sensitive").await.is_empty());

    // Not another member's dues, not a payment of their own.
    assert!(matches!(
        fx.app.member_dues(&me, other.id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .record_dues_payment(&me, a.id, pay(PaymentKind::Regular, "1", "x"))
            .await,
        Err(AppError::Forbidden)
    ));
    // The sibling branch's secretary sees nothing of branch A.
    assert!(matches!(
        fx.app.member_dues(&sec_b, a.id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.dues_sheet(&sec_b, BRANCH_A, "2026-03").await,
        Err(AppError::NotFound(_))
    ));
    assert!(
        fx.app
            .generate_dues(&sec_b, BRANCH_A, "2026-03", &noop)
            .await
            .is_err()
    );

    fx.app
        .generate_dues(&sec_a, BRANCH_A, "2026-03", &noop)
        .await
        .unwrap();
    let s = fx
        .app
        .dues_sheet(&sec_a, BRANCH_A, "2026-03")
        .await
        .unwrap();
    assert!(s.generated);
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.due_fen, 24_000);
    // The member without a base has no charge on the sheet.
    assert!(
        s.rows
            .iter()
            .any(|r| r.member_id == other.id && r.fee_fen.is_none())
    );
}

/// DOMAIN.md §7: dues pass upward level by level. Branch A collects and
/// remits to the committee; the committee passes on its branches'
/// remittances; a wrong entry is reversed, never edited; branch B's
/// secretary neither records for nor sees branch A.
#[tokio::test]
async fn remittance_to_the_higher_level() {
    use dangjian_app::dues_remit::RemittanceInput;
    let fx = Fixture::new().await;
    let m = fx.register(BRANCH_A, draft(1)).await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    fx.clock.set(at(2026, 3, 5));
    fx.app
        .set_dues_base(&sec, m.id, income(2026, "4000"))
        .await
        .unwrap();
    for mo in ["2026-01", "2026-02", "2026-03"] {
        fx.app
            .generate_dues(&sec, BRANCH_A, mo, &noop)
            .await
            .unwrap();
    }
    // March: 120 yuan of dues and a voluntary 10 yuan, both collected.
    fx.app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Regular, "120", "收据1"))
        .await
        .unwrap();
    fx.app
        .record_dues_payment(&sec, m.id, pay(PaymentKind::Voluntary, "10", "收据2"))
        .await
        .unwrap();
    let remit = |amount: &str, reference: &str| RemittanceInput {
        month: "2026-03".into(),
        amount: amount.into(),
        reference: reference.into(),
        remitted_on: None,
    };
    let r = fx
        .app
        .record_dues_remittance(&sec, BRANCH_A, remit("100", "转账A1"))
        .await
        .unwrap();
    assert_eq!(
        (r.amount_fen, r.to_org_code.as_deref()),
        (10_000, Some(COMMITTEE))
    );
    assert_eq!(fx.audit_rows("dues.remittance").await.len(), 1);

    // Input errors name their field.
    let mut bad = remit("0", " ");
    bad.month = "2026-04".into();
    let mut f = fields_of(fx.app.record_dues_remittance(&sec, BRANCH_A, bad).await);
    f.sort();
    // Today (5 March) is also before the April it names.
    assert_eq!(f, vec!["amount", "month", "reference", "remitted_on"]);
    assert_eq!(
        fields_of(
            fx.app
                .record_dues_remittance(&sec, BRANCH_A, remit("1.001", "x"))
                .await
        ),
        vec!["amount"]
    );

    // The branch sees its own row: 130 collected, 100 remitted, 30 owed.
    let rep = fx
        .app
        .dues_remittances(&sec, BRANCH_A, "2026-03", "2026-03")
        .await
        .unwrap();
    assert_eq!(rep.rows.len(), 1);
    let b = rep.rows[0].balance;
    assert_eq!(
        (
            b.collected_fen,
            b.to_remit_fen,
            b.remitted_fen,
            b.outstanding_fen
        ),
        (13_000, 13_000, 10_000, 3_000)
    );
    assert!(rep.can_record);

    // Branch B's secretary: neither records for A nor sees A.
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    assert!(
        fx.app
            .record_dues_remittance(&sec_b, BRANCH_A, remit("1", "x"))
            .await
            .is_err()
    );
    assert!(matches!(
        fx.app
            .dues_remittances(&sec_b, BRANCH_A, "2026-03", "2026-03")
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.reverse_dues_remittance(&sec_b, r.id, "错").await,
        Err(AppError::NotFound(_))
    ));

    // The committee received 100 and passes it on to the county.
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    fx.app
        .record_dues_remittance(&staff, COMMITTEE, remit("60", "转账W1"))
        .await
        .unwrap();
    let rep = fx
        .app
        .dues_remittances(&staff, COMMITTEE, "2026-01", "2026-03")
        .await
        .unwrap();
    let w = rep
        .rows
        .iter()
        .find(|r| r.org_code == COMMITTEE)
        .expect("committee row");
    assert_eq!(w.to_org_code.as_deref(), Some(COUNTY));
    assert_eq!(
        (
            w.balance.collected_fen,
            w.balance.received_fen,
            w.balance.remitted_fen,
            w.balance.outstanding_fen
        ),
        (0, 10_000, 6_000, 4_000)
    );
    assert!(rep.rows.iter().all(|r| r.month == "2026-03"));

    // A wrong entry is reversed once; the branch owes 130 again.
    let c = fx
        .app
        .reverse_dues_remittance(&sec, r.id, "金额录错")
        .await
        .unwrap();
    assert_eq!((c.amount_fen, c.reverses_id), (-10_000, Some(r.id)));
    assert!(matches!(
        fx.app.reverse_dues_remittance(&sec, r.id, "再次").await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        fx.app.reverse_dues_remittance(&sec, c.id, "再次").await,
        Err(AppError::Conflict(_))
    ));
    let rep = fx
        .app
        .dues_remittances(&staff, COMMITTEE, "2026-03", "2026-03")
        .await
        .unwrap();
    let a = rep
        .rows
        .iter()
        .find(|r| r.org_code == BRANCH_A)
        .expect("branch row");
    assert_eq!(a.balance.outstanding_fen, 13_000);
    assert_eq!(a.remittances.len(), 2);
    assert!(a.remittances[0].reversed);

    // The XLSX export carries the remittance sheet.
    let xlsx = fx
        .app
        .dues_report_xlsx(&staff, COMMITTEE, "2026-03", "2026-03")
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"));
}

/// Issue 7 §1, DOMAIN.md §7: a change of the regulation is data — a dated
/// rule. Sheets of months from the change recompute the bases fixed before
/// it (new base rows, history kept); earlier months keep their charges; a
/// base declared for the new period is computed under the new rule; a
/// fixed amount the new rule no longer allows falls to its default.
#[tokio::test]
async fn a_dated_rule_change_recomputes_later_sheets() {
    use dangjian_domain::dues::{DuesAmount, DuesCategory, DuesRule, DuesSchedule};
    let mut fx = Fixture::new().await;
    let from_2027 = date(2027, 1, 1);
    let mut schedule = DuesSchedule::national_2008();
    let mut new_rules: Vec<DuesRule> = schedule
        .rules
        .iter()
        .filter(|r| matches!(r.category, DuesCategory::Employed | DuesCategory::Farmer))
        .cloned()
        .collect();
    for r in &mut new_rules {
        r.id = format!("{}.2027", r.id);
        r.effective_from = from_2027;
        r.amount = match r.amount {
            DuesAmount::Rate { bp } => DuesAmount::Rate { bp: bp + 20 },
            DuesAmount::Fixed { .. } => DuesAmount::Fixed {
                default_fen: 50,
                min_fen: 50,
                max_fen: 100,
            },
        };
    }
    schedule.rules.extend(new_rules);
    schedule.check().unwrap();
    fx.app.config_mut().dues_schedule = schedule;

    let employed = fx.register(BRANCH_A, draft(1)).await;
    let farmer = fx.register(BRANCH_A, draft(2)).await;
    let early = fx.register(BRANCH_A, draft(3)).await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    fx.clock.set(at(2026, 11, 5));
    fx.app
        .set_dues_base(&sec, employed.id, income(2026, "4000"))
        .await
        .unwrap();
    let f = fx
        .app
        .set_dues_base(
            &sec,
            farmer.id,
            BaseInput {
                year: 2026,
                category: Some(DuesCategory::Farmer),
                branch_amount: Some("0.30".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(f.fee_fen, 30);
    fx.app
        .set_dues_base(&sec, early.id, income(2026, "4000"))
        .await
        .unwrap();
    for mo in ["2026-11", "2026-12"] {
        fx.app
            .generate_dues(&sec, BRANCH_A, mo, &noop)
            .await
            .unwrap();
    }
    // Declared in December for 2027: computed under the 2027 rule at once.
    fx.clock.set(at(2026, 12, 10));
    let b = fx
        .app
        .set_dues_base(&sec, early.id, income(2027, "4000"))
        .await
        .unwrap();
    assert_eq!(
        (b.fee_fen, b.rule.as_str(), b.effective_from),
        (4800, "employed.3000-5000.2027", from_2027)
    );

    // January 2027: the 2026 bases are recomputed from the change.
    fx.clock.set(at(2027, 1, 4));
    fx.app
        .generate_dues(&sec, BRANCH_A, "2027-01", &noop)
        .await
        .unwrap();
    fx.app
        .generate_dues(&sec, BRANCH_A, "2027-02", &noop)
        .await
        .unwrap();
    let charges = |d: &dangjian_app::dues::MemberDues| -> Vec<(String, i64)> {
        d.charges
            .iter()
            .map(|c| {
                (
                    dangjian_domain::dues_ledger::format_month(c.month),
                    c.fee_fen,
                )
            })
            .collect()
    };
    let d = fx.app.member_dues(&sec, employed.id).await.unwrap();
    assert_eq!(
        charges(&d),
        vec![
            ("2026-11".into(), 4000),
            ("2026-12".into(), 4000),
            ("2027-01".into(), 4800),
            ("2027-02".into(), 4800),
        ]
    );
    // History kept: the recomputed base is a new row, once.
    assert_eq!(d.bases.len(), 2);
    assert_eq!(
        (d.bases[0].declared_by.as_str(), d.bases[0].rule.as_str()),
        ("schedule", "employed.3000-5000.2027")
    );
    assert_eq!(d.bases[0].income_fen, Some(400_000));
    // 0.30 yuan is below the new farmers' range: the new default applies.
    let d = fx.app.member_dues(&sec, farmer.id).await.unwrap();
    assert_eq!(
        charges(&d).iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![30, 30, 50, 50]
    );
    // The member declared for 2027 was not recomputed a second time.
    let d = fx.app.member_dues(&sec, early.id).await.unwrap();
    assert_eq!(d.bases.len(), 2);
    assert!(d.bases.iter().all(|b| b.declared_by != "schedule"));
    assert_eq!(charges(&d)[2], ("2027-01".into(), 4800));

    // A member's own 2027 declaration is not blocked by the recomputed row:
    // it is their first for 2027, so it covers the year.
    let b = fx
        .app
        .set_dues_base(&sec, employed.id, income(2027, "6000"))
        .await
        .unwrap();
    assert_eq!((b.effective_from, b.fee_fen), (from_2027, 10_200));
    let rep = fx.app.ledger_verify().await.unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}
