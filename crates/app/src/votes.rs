//! Votes (DOMAIN.md §2, §4): who sits on a branch committee (dated seats,
//! recorded by hand or from an election), branch assembly votes on an
//! admission or conversion — tallied from each full member's choice and the
//! written opinions of absent ones, stored with the meeting, and fed into
//! the admission's assembly step in the same transaction — and committee
//! elections by secret ballot, counted from ballot papers that carry no
//! voter, whose elected candidates become the committee and start its term.
//!
//! Access: the secretary (or committee staff, administrators) of the branch
//! records; those who may list its members or attend its meetings read.
//! Anything else is `NotFound`.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::FieldError;
use dangjian_domain::admissions::AssemblyVote;
use dangjian_domain::meetings::{AttendanceState, MeetingKind, MeetingStatus};
use dangjian_domain::votes::{
    self as dv, Ballot, CandidateCount, Choice, CommitteeRole, ElectionOutcome, ElectionRound,
    VoterChoice,
};
use dangjian_store::entities::{
    assembly_vote, committee_member, election, meeting, org, workflow_instance,
};
use dangjian_store::repo::meetings as mrepo;
use dangjian_store::repo::{audit, members as memrepo, orgs as orepo, votes as repo, workflow};
use dangjian_workflow::engine::Override;
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::admissions::{AdmissionDetail, PROCESS_KEY, StepInput, definition};
use crate::clock::to_local;
use crate::{Actor, App, AppError};

/// Stage that votes and may be elected (DOMAIN.md §4: only full members vote).
const VOTING_STAGES: &[&str] = &["full"];

/// A seat to record on a committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatInput {
    pub member_id: i64,
    pub role: CommitteeRole,
}

/// A seat on a committee as users see it.
#[derive(Debug, Clone, Serialize)]
pub struct SeatView {
    pub member_id: i64,
    pub name: String,
    pub role: CommitteeRole,
    pub from_on: NaiveDate,
    pub until_on: Option<NaiveDate>,
    pub election_id: Option<i64>,
}

/// An assembly vote to record at a branch assembly.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssemblyVoteInput {
    /// The admission whose assembly step (15) or conversion vote (23) this is.
    pub admission_id: i64,
    /// The choice of each full member present.
    #[serde(default)]
    pub ballots: Vec<VoterChoice>,
    /// Written opinions handed in before the meeting by absent full members.
    #[serde(default)]
    pub written: Vec<VoterChoice>,
    /// Overrides with reasons for the step's warnings (not for §4 rules).
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// One voter's recorded choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BallotView {
    pub member_id: i64,
    pub name: String,
    pub choice: Choice,
    /// A written opinion of an absent voter.
    pub written: bool,
}

/// A recorded assembly vote.
#[derive(Debug, Clone, Serialize)]
pub struct AssemblyVoteView {
    pub id: i64,
    pub meeting_id: i64,
    pub admission_id: i64,
    /// `assembly` (admission, step 15) or `conversion_vote` (step 23).
    pub step: String,
    pub counts: AssemblyVote,
    /// `passed`, or the code of the §4 rule not met.
    pub outcome: String,
    pub ballots: Vec<BallotView>,
    pub created_at: DateTime<Utc>,
}

/// A recorded vote and, when it passed, the admission it moved on.
#[derive(Debug, Clone, Serialize)]
pub struct AssemblyVoteResult {
    pub vote: AssemblyVoteView,
    pub admission: Option<AdmissionDetail>,
}

/// A committee election round to count at a branch assembly.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ElectionInput {
    pub seats: u32,
    /// Ballot papers handed out.
    pub issued: u32,
    pub candidates: Vec<i64>,
    /// The papers as the tellers read them; no voter is named.
    #[serde(default)]
    pub ballots: Vec<Ballot>,
}

/// A candidate's count with the name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateView {
    pub member_id: i64,
    pub name: String,
    pub votes: u32,
    pub elected: bool,
    pub tied: bool,
}

/// A counted election round.
#[derive(Debug, Clone, Serialize)]
pub struct ElectionView {
    pub id: i64,
    pub meeting_id: i64,
    pub seats: u32,
    pub entitled: u32,
    pub present: u32,
    pub issued: u32,
    pub returned: u32,
    pub invalid: u32,
    pub outcome: ElectionOutcome,
    pub unfilled: u32,
    pub candidates: Vec<CandidateView>,
    pub created_at: DateTime<Utc>,
}

/// The votes held at one meeting.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingVotes {
    pub assembly_votes: Vec<AssemblyVoteView>,
    pub elections: Vec<ElectionView>,
    /// The branch's committee in office.
    pub committee: Vec<SeatView>,
    /// Whether the viewer may record votes here.
    pub can_record: bool,
}

fn corrupt(what: &str, id: i64) -> AppError {
    AppError::Internal(format!("{what} {id} has unreadable stored fields"))
}

fn assembly_view(v: &assembly_vote::Model) -> Result<AssemblyVoteView, AppError> {
    Ok(AssemblyVoteView {
        id: v.id,
        meeting_id: v.meeting_id,
        admission_id: v.admission_id,
        step: v.step.clone(),
        counts: AssemblyVote {
            eligible: v.eligible.into(),
            present: v.present.into(),
            yes: v.yes.into(),
            no: v.no.into(),
            abstain: v.abstain.into(),
            written_yes: v.written_yes.into(),
            written_no: v.written_no.into(),
            written_abstain: v.written_abstain.into(),
        },
        outcome: v.outcome.clone(),
        ballots: serde_json::from_value(v.ballots.clone())
            .map_err(|_| corrupt("assembly vote", v.id))?,
        created_at: v.created_at,
    })
}

fn election_view(e: &election::Model) -> Result<ElectionView, AppError> {
    let candidates: Vec<CandidateView> =
        serde_json::from_value(e.candidates.clone()).map_err(|_| corrupt("election", e.id))?;
    let n = |v: i32| u32::try_from(v).map_err(|_| corrupt("election", e.id));
    let seats = n(e.seats)?;
    let elected = candidates.iter().filter(|c| c.elected).count() as u32;
    let outcome = ElectionOutcome::parse(&e.outcome).ok_or_else(|| corrupt("election", e.id))?;
    Ok(ElectionView {
        id: e.id,
        meeting_id: e.meeting_id,
        seats,
        entitled: n(e.entitled)?,
        present: n(e.present)?,
        issued: n(e.issued)?,
        returned: n(e.returned)?,
        invalid: n(e.invalid)?,
        unfilled: if outcome == ElectionOutcome::Void {
            seats
        } else {
            seats.saturating_sub(elected)
        },
        outcome,
        candidates,
        created_at: e.created_at,
    })
}

fn to_i32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// When a committee was elected and the term chosen then, in years (none:
/// the longest the organization may have, DOMAIN.md §2).
struct Term {
    elected_on: NaiveDate,
    years: Option<i32>,
}

impl App {
    /// The committee in office of organization `code`.
    pub async fn committee(&self, actor: &Actor, code: &str) -> Result<Vec<SeatView>, AppError> {
        let o = self.calendar_org(actor, code).await?;
        self.seats_of(&self.db.conn, o.id).await
    }

    async fn seats_of<C: ConnectionTrait>(
        &self,
        c: &C,
        org_id: i64,
    ) -> Result<Vec<SeatView>, AppError> {
        let seats = repo::committee_now(c, org_id).await?;
        let ids: Vec<i64> = seats.iter().map(|s| s.member_id).collect();
        let names = mrepo::member_names(c, &ids).await?;
        let mut v: Vec<SeatView> = seats
            .iter()
            .map(|s| {
                Ok(SeatView {
                    member_id: s.member_id,
                    name: names
                        .iter()
                        .find(|n| n.0 == s.member_id)
                        .map(|n| n.1.clone())
                        .unwrap_or_default(),
                    role: CommitteeRole::parse(&s.role)
                        .ok_or_else(|| corrupt("committee seat", s.id))?,
                    from_on: s.from_on,
                    until_on: s.until_on,
                    election_id: s.election_id,
                })
            })
            .collect::<Result<_, AppError>>()?;
        let rank = |r: CommitteeRole| match r {
            CommitteeRole::Secretary => 0,
            CommitteeRole::Deputy => 1,
            CommitteeRole::Member => 2,
        };
        v.sort_by_key(|s| (rank(s.role), s.member_id));
        Ok(v)
    }

    /// Records the committee of branch `code` elected on `elected_on` (换届,
    /// DOMAIN.md §2): the seats in office end that day, the new ones start,
    /// and the organization's committee term starts (as `set_committee`).
    /// Members must be active full members of the branch.
    pub async fn record_committee(
        &self,
        actor: &Actor,
        code: &str,
        elected_on: NaiveDate,
        term_years: Option<u32>,
        seats: Vec<SeatInput>,
    ) -> Result<Vec<SeatView>, AppError> {
        let o = self.managed_org(actor, code).await?;
        let term = crate::orgs::chosen_term(&o, Some(elected_on), term_years)?;
        let (_writer, tx) = self.begin_write().await?;
        let term = Term {
            elected_on,
            years: term,
        };
        self.write_committee(&tx, actor, &o, term, &seats, None)
            .await?;
        let v = self.seats_of(&tx, o.id).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn write_committee<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        o: &org::Model,
        term: Term,
        seats: &[SeatInput],
        election_id: Option<i64>,
    ) -> Result<(), AppError> {
        let Term {
            elected_on,
            years: term_years,
        } = term;
        let mut errs = dangjian_domain::ValidationErrors::default();
        for e in dv::check_committee(
            &seats
                .iter()
                .map(|s| (s.member_id, s.role))
                .collect::<Vec<_>>(),
        ) {
            errs.push(e);
        }
        if elected_on > self.today() {
            errs.push(FieldError::new(
                "elected_on",
                "date_in_future",
                "选举日期晚于今天",
                "the election date is after today",
            ));
        }
        if o.kind == "group" || o.status != "active" {
            errs.push(FieldError::new(
                "org",
                "no_committee",
                "只有在册的支部（党总支、党委）设委员会",
                "only an active branch (general branch, committee) has a committee",
            ));
        }
        let full = mrepo::roster_ids(tx, o.id, false, VOTING_STAGES).await?;
        let strangers: Vec<String> = seats
            .iter()
            .filter(|s| full.binary_search(&s.member_id).is_err())
            .map(|s| s.member_id.to_string())
            .collect();
        if !strangers.is_empty() {
            let list = strangers.join(", ");
            errs.push(FieldError::new(
                "members",
                "not_full_member",
                format!("以下编号不是本支部在册的正式党员：{list}"),
                format!("not active full members of this branch: {list}"),
            ));
        }
        errs.into_result()?;
        let now = self.clock.now();
        repo::close_committee(tx, o.id, elected_on).await?;
        for s in seats {
            repo::add_seat(
                tx,
                committee_member::ActiveModel {
                    org_id: Set(o.id),
                    member_id: Set(s.member_id),
                    role: Set(s.role.as_str().into()),
                    from_on: Set(elected_on),
                    until_on: Set(None),
                    election_id: Set(election_id),
                    recorded_by: Set(actor.audit_id()),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
        }
        let from = o.committee_elected_on;
        let o =
            orepo::set_committee(tx, o.clone(), true, Some(elected_on), term_years, now).await?;
        crate::orgs::record_change(
            tx,
            actor,
            o.id,
            "committee",
            serde_json::json!({
                "from": from,
                "to": elected_on,
                "term_years": term_years,
                "seats": seats.iter().map(|s| serde_json::json!({"member": s.member_id, "role": s.role.as_str()})).collect::<Vec<_>>(),
                "election": election_id,
            }),
            now,
        )
        .await?;
        self.evaluate_org_rules(tx, &o).await?;
        Ok(())
    }

    /// A branch assembly the actor records votes at: the meeting must be a
    /// branch assembly that has begun and was not cancelled.
    async fn vote_meeting(
        &self,
        actor: &Actor,
        meeting_id: i64,
    ) -> Result<(meeting::Model, org::Model), AppError> {
        let (m, o, access) = self.visible_meeting(actor, meeting_id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        if m.kind != MeetingKind::BranchAssembly.as_str() {
            return Err(AppError::field(
                "meeting",
                "not_assembly",
                "表决和选举在支部党员大会上进行",
                "votes and elections take place at a branch member assembly",
            ));
        }
        if m.status == MeetingStatus::Cancelled.as_str() {
            return Err(AppError::field(
                "meeting",
                "cancelled",
                "会议已取消",
                "the meeting was cancelled",
            ));
        }
        if m.starts_at > self.clock.now() {
            return Err(AppError::field(
                "meeting",
                "not_started",
                "会议尚未开始，不能记录表决",
                "the meeting has not begun; no vote can be recorded yet",
            ));
        }
        Ok((m, o))
    }

    /// Full members of the branch (entitled) and those of them present.
    async fn voters<C: ConnectionTrait>(
        &self,
        c: &C,
        m: &meeting::Model,
    ) -> Result<(BTreeSet<i64>, BTreeSet<i64>), AppError> {
        let entitled: BTreeSet<i64> = mrepo::roster_ids(c, m.org_id, false, VOTING_STAGES)
            .await?
            .into_iter()
            .collect();
        let present: BTreeSet<i64> = mrepo::attendance(c, m.id)
            .await?
            .into_iter()
            .filter(|a| a.state == AttendanceState::Present.as_str())
            .map(|a| a.member_id)
            .filter(|id| entitled.contains(id))
            .collect();
        Ok((entitled, present))
    }

    /// Records an assembly vote on an admission (step 15) or a conversion
    /// (step 23) at branch assembly `meeting_id` (DOMAIN.md §4): only the
    /// branch's full members vote; those present (from the meeting's
    /// attendance) choose at the meeting, absent ones may have handed in a
    /// written opinion. The counts, each voter's choice and the outcome are
    /// stored with the meeting; when the resolution passes, the admission's
    /// step is acted on in the same transaction with these counts and the
    /// meeting's date, so nothing is typed twice. A vote that fails is
    /// recorded and the admission stays where it is.
    pub async fn record_assembly_vote(
        &self,
        actor: &Actor,
        meeting_id: i64,
        input: AssemblyVoteInput,
    ) -> Result<AssemblyVoteResult, AppError> {
        let (m, o) = self.vote_meeting(actor, meeting_id).await?;
        let (row, member, _) = self
            .visible_admission(actor, input.admission_id)
            .await
            .map_err(|_| {
                AppError::field(
                    "admission_id",
                    "not_found",
                    "没有这个发展党员流程",
                    "no such admission",
                )
            })?;
        if row.org_id != o.id {
            return Err(AppError::field(
                "admission_id",
                "other_branch",
                "该发展对象不在本支部，由其所在支部的党员大会表决",
                "the candidate belongs to another branch; its own assembly votes",
            ));
        }
        let def = definition();
        let (_writer, tx) = self.begin_write().await?;
        let row: workflow_instance::Model = workflow::get_instance(&tx, row.id)
            .await?
            .filter(|r| r.process_key == PROCESS_KEY)
            .ok_or(AppError::NotFound("admission"))?;
        let mut inst = self.load_instance(&tx, &row).await?;
        let step = inst
            .next_step(&def)
            .map(|s| s.key.clone())
            .filter(|k| k == "assembly" || k == "conversion_vote")
            .ok_or_else(|| {
                AppError::field(
                    "admission_id",
                    "not_at_vote",
                    "该发展党员流程当前不在支部大会表决步骤",
                    "this admission is not at an assembly vote step",
                )
            })?;
        let (entitled, present) = self.voters(&tx, &m).await?;
        let tally = dv::tally_assembly(&entitled, &present, &input.ballots, &input.written)
            .map_err(|e| AppError::Validation(dangjian_domain::ValidationErrors(e)))?;
        let ids: Vec<i64> = input
            .ballots
            .iter()
            .chain(&input.written)
            .map(|b| b.member_id)
            .collect();
        let names = mrepo::member_names(&tx, &ids).await?;
        let name = |id: i64| {
            names
                .iter()
                .find(|n| n.0 == id)
                .map(|n| n.1.clone())
                .unwrap_or_default()
        };
        let ballots: Vec<BallotView> = input
            .ballots
            .iter()
            .map(|b| (b, false))
            .chain(input.written.iter().map(|b| (b, true)))
            .map(|(b, written)| BallotView {
                member_id: b.member_id,
                name: name(b.member_id),
                choice: b.choice,
                written,
            })
            .collect();
        let now = self.clock.now();
        let v = &tally.vote;
        let saved = repo::add_assembly_vote(
            &tx,
            assembly_vote::ActiveModel {
                meeting_id: Set(m.id),
                org_id: Set(o.id),
                admission_id: Set(row.id),
                step: Set(step.clone()),
                eligible: Set(to_i32(v.eligible)),
                present: Set(to_i32(v.present)),
                yes: Set(to_i32(v.yes)),
                no: Set(to_i32(v.no)),
                abstain: Set(to_i32(v.abstain)),
                written_yes: Set(to_i32(v.written_yes)),
                written_no: Set(to_i32(v.written_no)),
                written_abstain: Set(to_i32(v.written_abstain)),
                outcome: Set(tally.outcome().into()),
                ballots: Set(serde_json::to_value(&ballots)
                    .map_err(|e| AppError::Internal(e.to_string()))?),
                recorded_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.assembly_vote".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "admission": row.id,
                    "step": step,
                    "outcome": tally.outcome(),
                    "counts": v,
                }),
            },
            now,
        )
        .await?;
        let mut admission = None;
        if tally.passed() {
            let held_on = to_local(m.starts_at).date_naive();
            let mut form = serde_json::Map::new();
            form.insert("held_on".into(), held_on.to_string().into());
            for (k, n) in [
                ("eligible", v.eligible),
                ("present", v.present),
                ("yes", v.yes),
                ("no", v.no),
                ("abstain", v.abstain),
                ("written_yes", v.written_yes),
                ("written_no", v.written_no),
                ("written_abstain", v.written_abstain),
            ] {
                form.insert(k.into(), n.into());
            }
            let input = StepInput {
                form,
                attachments: vec![],
                overrides: input.overrides,
            };
            let row = self
                .apply_action(&tx, actor, &def, &row, &mut inst, &member, &o, &step, input)
                .await?;
            let timers = workflow::timers_of(&tx, &[row.id]).await?;
            let member = memrepo::get(&tx, member.id).await?.unwrap_or(member);
            admission = Some(self.detail_of(actor, &def, &row, &inst, &member, &o, &timers));
        }
        tx.commit().await?;
        Ok(AssemblyVoteResult {
            vote: assembly_view(&saved)?,
            admission,
        })
    }

    /// Counts a round of a committee election by secret ballot at branch
    /// assembly `meeting_id` (DOMAIN.md §4 elections): entitled voters are
    /// the branch's full members, those present come from the meeting's
    /// attendance; candidates must be full members of the branch. Only
    /// counts are stored. When every seat is filled, the elected become
    /// the committee (all as members; the committee then elects its
    /// secretary and deputy, recorded with [`App::record_committee`]) and
    /// its term starts on the meeting's date.
    pub async fn record_election(
        &self,
        actor: &Actor,
        meeting_id: i64,
        input: ElectionInput,
    ) -> Result<ElectionView, AppError> {
        let (m, o) = self.vote_meeting(actor, meeting_id).await?;
        let (_writer, tx) = self.begin_write().await?;
        let (entitled, present) = self.voters(&tx, &m).await?;
        let round = ElectionRound {
            seats: input.seats,
            entitled: entitled.len() as u32,
            present: present.len() as u32,
            issued: input.issued,
            candidates: input.candidates.clone(),
            ballots: input.ballots,
        };
        let mut errs = dangjian_domain::ValidationErrors(dv::check_election(&round));
        let strangers: Vec<String> = input
            .candidates
            .iter()
            .filter(|c| !entitled.contains(c))
            .map(i64::to_string)
            .collect();
        if !strangers.is_empty() {
            let list = strangers.join(", ");
            errs.push(FieldError::new(
                "candidates",
                "not_full_member",
                format!("候选人须为本支部在册的正式党员：{list}"),
                format!("candidates are active full members of this branch: {list}"),
            ));
        }
        errs.into_result()?;
        let res = dv::count_election(&round);
        let names = mrepo::member_names(&tx, &input.candidates).await?;
        let candidates: Vec<CandidateView> = res
            .candidates
            .iter()
            .map(|c: &CandidateCount| CandidateView {
                member_id: c.member_id,
                name: names
                    .iter()
                    .find(|n| n.0 == c.member_id)
                    .map(|n| n.1.clone())
                    .unwrap_or_default(),
                votes: c.votes,
                elected: c.elected,
                tied: c.tied,
            })
            .collect();
        let now = self.clock.now();
        let saved = repo::add_election(
            &tx,
            election::ActiveModel {
                meeting_id: Set(m.id),
                org_id: Set(o.id),
                seats: Set(to_i32(round.seats)),
                entitled: Set(to_i32(round.entitled)),
                present: Set(to_i32(round.present)),
                issued: Set(to_i32(round.issued)),
                returned: Set(to_i32(res.returned)),
                invalid: Set(to_i32(res.invalid)),
                outcome: Set(res.outcome.as_str().into()),
                candidates: Set(serde_json::to_value(&candidates)
                    .map_err(|e| AppError::Internal(e.to_string()))?),
                recorded_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.election".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "election": saved.id,
                    "outcome": res.outcome.as_str(),
                    "seats": round.seats,
                    "returned": res.returned,
                    "invalid": res.invalid,
                }),
            },
            now,
        )
        .await?;
        if res.outcome == ElectionOutcome::Elected {
            let seats: Vec<SeatInput> = res
                .candidates
                .iter()
                .filter(|c| c.elected)
                .map(|c| SeatInput {
                    member_id: c.member_id,
                    role: CommitteeRole::Member,
                })
                .collect();
            let on = to_local(m.starts_at).date_naive();
            self.write_committee(
                &tx,
                actor,
                &o,
                Term {
                    elected_on: on,
                    years: None,
                },
                &seats,
                Some(saved.id),
            )
            .await?;
        }
        tx.commit().await?;
        election_view(&saved)
    }

    /// The assembly votes and election rounds of a meeting and the
    /// branch's committee in office.
    pub async fn meeting_votes(
        &self,
        actor: &Actor,
        meeting_id: i64,
    ) -> Result<MeetingVotes, AppError> {
        let (m, o, access) = self.visible_meeting(actor, meeting_id).await?;
        let c = &self.db.conn;
        Ok(MeetingVotes {
            assembly_votes: repo::assembly_votes(c, m.id)
                .await?
                .iter()
                .map(assembly_view)
                .collect::<Result<_, _>>()?,
            elections: repo::elections(c, m.id)
                .await?
                .iter()
                .map(election_view)
                .collect::<Result<_, _>>()?,
            committee: self.seats_of(c, o.id).await?,
            can_record: access.manage
                && m.kind == MeetingKind::BranchAssembly.as_str()
                && m.status != MeetingStatus::Cancelled.as_str(),
        })
    }
}
