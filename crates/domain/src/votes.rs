//! Votes (DOMAIN.md §2, §4): the per-voter tally of a branch assembly vote on
//! admission or conversion (only full members vote; written opinions of
//! absent voters count; the quorum and majority themselves are
//! `admissions::check_assembly_vote`), and the count of a branch committee
//! election by secret ballot with more candidates than seats (差额选举,
//! 基层组织选举工作条例): valid meeting, margin of candidates, ballots
//! returned against issued, invalid ballots, who is elected, ties and
//! unfilled seats. Committee roles and their sizes (§2).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::admissions::{AssemblyVote, Breach, check_assembly_vote};

code_enum! {
    /// One voter's choice in an assembly vote.
    pub enum Choice {
        Yes = ("yes", "赞成", "Yes"),
        No = ("no", "反对", "No"),
        Abstain = ("abstain", "弃权", "Abstain"),
    }
}

code_enum! {
    /// A seat on a branch committee (§2: the committee elects its secretary
    /// and, if needed, a deputy).
    pub enum CommitteeRole {
        Secretary = ("secretary", "书记", "Secretary"),
        Deputy = ("deputy", "副书记", "Deputy secretary"),
        Member = ("member", "委员", "Committee member"),
    }
}

/// Most seats on a branch committee (§2: 3–5 members, at most 7).
pub const COMMITTEE_MAX_SEATS: usize = 7;

/// One voter's ballot in an open assembly vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterChoice {
    pub member_id: i64,
    pub choice: Choice,
}

/// The outcome of an assembly vote: the counts and what §4 says of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssemblyTally {
    pub vote: AssemblyVote,
    /// Empty when the resolution passed.
    pub breaches: Vec<Breach>,
}

impl AssemblyTally {
    pub fn passed(&self) -> bool {
        self.breaches.is_empty()
    }
    /// `passed`, or the code of the first rule not met.
    pub fn outcome(&self) -> &'static str {
        self.breaches.first().map_or("passed", |b| b.code)
    }
}

/// Tallies an assembly vote from who may vote (`eligible`: the full members
/// of the branch), who is present, the choices cast at the meeting and the
/// written opinions handed in before it (DOMAIN.md §4). Probationary members
/// have no vote, so anyone outside `eligible` is refused; a present voter
/// may not also send a written opinion; each voter counts once.
pub fn tally_assembly(
    eligible: &BTreeSet<i64>,
    present: &BTreeSet<i64>,
    cast: &[VoterChoice],
    written: &[VoterChoice],
) -> Result<AssemblyTally, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut v = AssemblyVote {
        eligible: eligible.len() as i64,
        present: present.intersection(eligible).count() as i64,
        ..AssemblyVote::default()
    };
    for (field, list, at_meeting) in [("ballots", cast, true), ("written", written, false)] {
        for c in list {
            if !seen.insert(c.member_id) {
                errs.push(FieldError::new(
                    field,
                    "voted_twice",
                    format!("党员{}只能表决一次", c.member_id),
                    format!("member {} votes once", c.member_id),
                ));
                continue;
            }
            if !eligible.contains(&c.member_id) {
                errs.push(FieldError::new(
                    field,
                    "not_entitled",
                    format!(
                        "党员{}没有表决权（只有正式党员表决，DOMAIN.md §4）",
                        c.member_id
                    ),
                    format!(
                        "member {} has no vote (only full members vote, DOMAIN.md §4)",
                        c.member_id
                    ),
                ));
                continue;
            }
            if present.contains(&c.member_id) != at_meeting {
                let (zh, en) = if at_meeting {
                    (
                        "未到会，只能提交书面意见",
                        "is not present; only a written opinion counts",
                    )
                } else {
                    ("已到会，应当场表决", "is present and votes at the meeting")
                };
                errs.push(FieldError::new(
                    field,
                    if at_meeting { "not_present" } else { "present" },
                    format!("党员{}{zh}", c.member_id),
                    format!("member {} {en}", c.member_id),
                ));
                continue;
            }
            let slot = match (at_meeting, c.choice) {
                (true, Choice::Yes) => &mut v.yes,
                (true, Choice::No) => &mut v.no,
                (true, Choice::Abstain) => &mut v.abstain,
                (false, Choice::Yes) => &mut v.written_yes,
                (false, Choice::No) => &mut v.written_no,
                (false, Choice::Abstain) => &mut v.written_abstain,
            };
            *slot += 1;
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(AssemblyTally {
        breaches: check_assembly_vote(&v),
        vote: v,
    })
}

/// One ballot paper of a secret ballot: the candidates marked YES, or a
/// spoiled paper. Carries nothing about who cast it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ballot {
    #[serde(default)]
    pub yes: Vec<i64>,
    /// Spoiled, unreadable or otherwise declared invalid by the tellers.
    #[serde(default)]
    pub spoiled: bool,
}

/// A round of a committee election to count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionRound {
    pub seats: u32,
    /// Voters entitled (full members of the branch).
    pub entitled: u32,
    /// Voters present.
    pub present: u32,
    /// Ballot papers handed out.
    pub issued: u32,
    /// Candidate member ids.
    pub candidates: Vec<i64>,
    pub ballots: Vec<Ballot>,
}

code_enum! {
    /// What a counted round came to.
    pub enum ElectionOutcome {
        Elected = ("elected", "全部当选", "All seats filled"),
        Rerun = ("rerun", "有空缺，需另行选举", "Seats left: another round"),
        Void = ("void", "选举无效", "Void round"),
    }
}

/// One candidate's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateCount {
    pub member_id: i64,
    pub votes: u32,
    pub elected: bool,
    /// Tied for the last seats with more qualified candidates than seats left:
    /// goes to another round.
    pub tied: bool,
}

/// The count of one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionResult {
    pub outcome: ElectionOutcome,
    pub returned: u32,
    pub valid: u32,
    pub invalid: u32,
    /// Candidates by votes, most first (id on equal votes).
    pub candidates: Vec<CandidateCount>,
    /// Seats not filled in this round.
    pub unfilled: u32,
}

const ELECTION_RULE: &str = "基层组织选举工作条例 (DOMAIN.md §4 elections)";

/// Checks that refuse to count a round at all: seats within the committee
/// size, distinct candidates, candidates exceeding seats by at least 20%
/// (差额), voters present at least four fifths of those entitled, ballots
/// handed out to voters present only, ballots naming candidates only.
pub fn check_election(r: &ElectionRound) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let seats = r.seats as usize;
    if seats == 0 || seats > COMMITTEE_MAX_SEATS {
        errs.push(FieldError::new(
            "seats",
            "invalid_value",
            format!("应选名额须为1至{COMMITTEE_MAX_SEATS}名（DOMAIN.md §2）"),
            format!("seats are 1 to {COMMITTEE_MAX_SEATS} (DOMAIN.md §2)"),
        ));
    }
    let distinct: BTreeSet<i64> = r.candidates.iter().copied().collect();
    if distinct.len() != r.candidates.len() {
        errs.push(FieldError::new(
            "candidates",
            "duplicate",
            "候选人重复",
            "a candidate is listed twice",
        ));
    }
    // 差额: at least 20% more candidates than seats, in integers.
    let n = distinct.len();
    if n <= seats || n * 5 < seats * 6 {
        errs.push(FieldError::new(
            "candidates",
            "not_competitive",
            format!("差额选举：候选人数应多于应选人数至少20%（应选{seats}名，候选{n}名）— {ELECTION_RULE}"),
            format!("competitive election: candidates exceed seats by at least 20% ({seats} seats, {n} candidates) — {ELECTION_RULE}"),
        ));
    }
    if r.present > r.entitled || r.entitled == 0 {
        errs.push(FieldError::new(
            "present",
            "invalid_value",
            format!("实到{}人多于应到{}人", r.present, r.entitled),
            format!("{} present out of {} entitled", r.present, r.entitled),
        ));
    } else if r.present * 5 < r.entitled * 4 {
        errs.push(FieldError::new(
            "present",
            "quorum_not_met",
            format!("到会选举人须不少于应到人数的五分之四：应到{}人，实到{}人 — {ELECTION_RULE}", r.entitled, r.present),
            format!("at least four fifths of the {} voters entitled must be present, not {} — {ELECTION_RULE}", r.entitled, r.present),
        ));
    }
    if r.issued > r.present {
        errs.push(FieldError::new(
            "issued",
            "invalid_value",
            format!("发出选票{}张多于到会{}人", r.issued, r.present),
            format!(
                "{} ballots issued to {} voters present",
                r.issued, r.present
            ),
        ));
    }
    if r.ballots
        .iter()
        .flat_map(|b| &b.yes)
        .any(|id| !distinct.contains(id))
    {
        errs.push(FieldError::new(
            "ballots",
            "not_a_candidate",
            "选票上有非候选人",
            "a ballot names someone who is not a candidate",
        ));
    }
    errs
}

/// Counts a round (call [`check_election`] first). More ballots returned
/// than issued voids the round. A paper is invalid when spoiled, when it
/// marks more candidates than seats, or marks one twice. A candidate needs
/// YES votes from more than half of the voters present; of those, the most
/// votes take the seats. When candidates tie for the last seats and are
/// more than the seats left, none of them is elected here and they go to
/// another round (另行选举) with the seats left, as do seats nobody
/// qualified for.
pub fn count_election(r: &ElectionRound) -> ElectionResult {
    let returned = r.ballots.len() as u32;
    let mut tally: BTreeMap<i64, u32> = r.candidates.iter().map(|c| (*c, 0)).collect();
    let mut invalid = 0;
    for b in &r.ballots {
        let marks: BTreeSet<i64> = b.yes.iter().copied().collect();
        if b.spoiled || marks.len() != b.yes.len() || marks.len() > r.seats as usize {
            invalid += 1;
            continue;
        }
        for m in marks {
            if let Some(n) = tally.get_mut(&m) {
                *n += 1;
            }
        }
    }
    let mut candidates: Vec<CandidateCount> = tally
        .into_iter()
        .map(|(member_id, votes)| CandidateCount {
            member_id,
            votes,
            elected: false,
            tied: false,
        })
        .collect();
    candidates.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.member_id.cmp(&b.member_id)));
    if returned > r.issued {
        return ElectionResult {
            outcome: ElectionOutcome::Void,
            returned,
            valid: returned - invalid,
            invalid,
            candidates,
            unfilled: r.seats,
        };
    }
    let qualifies = |v: u32| u64::from(v) * 2 > u64::from(r.present);
    let seats = r.seats as usize;
    let qualified: Vec<usize> = (0..candidates.len())
        .filter(|i| qualifies(candidates[*i].votes))
        .collect();
    let mut filled = 0;
    if qualified.len() <= seats {
        for i in &qualified {
            candidates[*i].elected = true;
        }
        filled = qualified.len();
    } else {
        // Sorted by votes, so the qualified come first.
        let cut = candidates[seats - 1].votes;
        let tie_beyond = candidates[seats].votes == cut;
        for c in candidates.iter_mut().take_while(|c| qualifies(c.votes)) {
            if c.votes > cut || (c.votes == cut && !tie_beyond) {
                c.elected = true;
                filled += 1;
            } else if c.votes == cut {
                c.tied = true;
            }
        }
    }
    let unfilled = (seats - filled) as u32;
    ElectionResult {
        outcome: if unfilled == 0 {
            ElectionOutcome::Elected
        } else {
            ElectionOutcome::Rerun
        },
        returned,
        valid: returned - invalid,
        invalid,
        candidates,
        unfilled,
    }
}

/// Checks the roles of a committee being recorded: at most seven seats
/// (§2), one secretary, at most one deputy, each member once.
pub fn check_committee(seats: &[(i64, CommitteeRole)]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ids: BTreeSet<i64> = seats.iter().map(|s| s.0).collect();
    if ids.len() != seats.len() {
        errs.push(FieldError::new(
            "members",
            "duplicate",
            "同一党员只能占一个席位",
            "a member holds one seat",
        ));
    }
    if seats.is_empty() || seats.len() > COMMITTEE_MAX_SEATS {
        errs.push(FieldError::new(
            "members",
            "invalid_value",
            format!("支部委员会由1至{COMMITTEE_MAX_SEATS}人组成（DOMAIN.md §2）"),
            format!("a branch committee has 1 to {COMMITTEE_MAX_SEATS} members (DOMAIN.md §2)"),
        ));
    }
    let count = |r: CommitteeRole| seats.iter().filter(|s| s.1 == r).count();
    if count(CommitteeRole::Secretary) > 1 || count(CommitteeRole::Deputy) > 1 {
        errs.push(FieldError::new(
            "members",
            "one_secretary",
            "支部委员会只有一名书记、至多一名副书记",
            "a committee has one secretary and at most one deputy",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }
    fn vc(member_id: i64, choice: Choice) -> VoterChoice {
        VoterChoice { member_id, choice }
    }

    #[test]
    fn assembly_tally_counts_present_and_written_dom4() {
        // 10 full members, 6 present: 4 yes at the meeting + 2 written yes
        // = 6 of 10 > half of all entitled.
        let eligible = set(&(1..=10).collect::<Vec<_>>());
        let present = set(&[1, 2, 3, 4, 5, 6]);
        let cast = [
            vc(1, Choice::Yes),
            vc(2, Choice::Yes),
            vc(3, Choice::Yes),
            vc(4, Choice::Yes),
            vc(5, Choice::No),
            vc(6, Choice::Abstain),
        ];
        let written = [vc(7, Choice::Yes), vc(8, Choice::Yes)];
        let t = tally_assembly(&eligible, &present, &cast, &written).unwrap();
        assert_eq!(
            (
                t.vote.eligible,
                t.vote.present,
                t.vote.yes,
                t.vote.written_yes
            ),
            (10, 6, 4, 2)
        );
        assert!(t.passed());
        // Without the written opinions 4 of 10 is not a majority of all
        // entitled, though it is of those present (§4: "not of those present").
        let t = tally_assembly(&eligible, &present, &cast, &[]).unwrap();
        assert_eq!(t.outcome(), "majority_not_reached");
    }

    #[test]
    fn assembly_quorum_counts_full_members_only_dom4() {
        // Probationary member 99 is present but has no vote and does not
        // make a quorum: 5 of 10 full members present is not more than half.
        let eligible = set(&(1..=10).collect::<Vec<_>>());
        let present = set(&[1, 2, 3, 4, 5, 99]);
        let cast: Vec<_> = (1..=5).map(|i| vc(i, Choice::Yes)).collect();
        let written: Vec<_> = (6..=8).map(|i| vc(i, Choice::Yes)).collect();
        let t = tally_assembly(&eligible, &present, &cast, &written).unwrap();
        assert_eq!(t.vote.present, 5);
        assert_eq!(t.outcome(), "quorum_not_met");
        let e = tally_assembly(&eligible, &present, &[vc(99, Choice::Yes)], &[]).unwrap_err();
        assert_eq!(e[0].code, "not_entitled");
    }

    #[test]
    fn assembly_refuses_double_and_misplaced_votes() {
        let eligible = set(&[1, 2, 3]);
        let present = set(&[1, 2]);
        let codes = |cast: &[VoterChoice], written: &[VoterChoice]| {
            tally_assembly(&eligible, &present, cast, written)
                .unwrap_err()
                .iter()
                .map(|e| e.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(&[vc(1, Choice::Yes)], &[vc(1, Choice::No)]),
            vec!["voted_twice"]
        );
        assert_eq!(codes(&[vc(3, Choice::Yes)], &[]), vec!["not_present"]);
        assert_eq!(codes(&[], &[vc(2, Choice::Yes)]), vec!["present"]);
    }

    fn round(seats: u32, entitled: u32, present: u32, candidates: &[i64]) -> ElectionRound {
        ElectionRound {
            seats,
            entitled,
            present,
            issued: present,
            candidates: candidates.to_vec(),
            ballots: vec![],
        }
    }
    fn ballot(yes: &[i64]) -> Ballot {
        Ballot {
            yes: yes.to_vec(),
            spoiled: false,
        }
    }
    fn codes(r: &ElectionRound) -> Vec<&'static str> {
        check_election(r).iter().map(|e| e.code).collect()
    }

    #[test]
    fn election_needs_four_fifths_present_and_twenty_percent_margin() {
        // Table: (seats, entitled, present, candidates, codes)
        let cases: &[(u32, u32, u32, usize, &[&str])] = &[
            (5, 10, 8, 6, &[]),                  // 8/10 = 4/5, 6 ≥ 5×1.2
            (5, 10, 7, 6, &["quorum_not_met"]),  // 7/10 < 4/5
            (5, 10, 8, 5, &["not_competitive"]), // equal: no margin
            (3, 10, 10, 4, &[]),                 // 4 ≥ 3.6
            (4, 10, 10, 4, &["not_competitive"]),
            (4, 10, 10, 5, &[]),                  // 5 ≥ 4.8
            (7, 20, 16, 8, &["not_competitive"]), // 8 < 8.4
            (7, 20, 16, 9, &[]),
            (0, 10, 10, 2, &["invalid_value"]),
            (8, 20, 20, 10, &["invalid_value"]), // §2 at most 7
        ];
        for (seats, entitled, present, n, want) in cases {
            let cands: Vec<i64> = (1..=*n as i64).collect();
            assert_eq!(
                codes(&round(*seats, *entitled, *present, &cands)),
                *want,
                "{seats} seats, {entitled}/{present}, {n} candidates"
            );
        }
        let mut r = round(3, 5, 5, &[1, 2, 3, 4]);
        r.ballots = vec![ballot(&[1, 9])];
        assert_eq!(codes(&r), vec!["not_a_candidate"]);
    }

    #[test]
    fn elected_with_more_than_half_of_voters_present() {
        // 3 seats, 5 present, candidates 1..4.
        let mut r = round(3, 5, 5, &[1, 2, 3, 4]);
        r.ballots = vec![
            ballot(&[1, 2, 3]),
            ballot(&[1, 2, 3]),
            ballot(&[1, 2, 4]),
            ballot(&[1, 3, 4]),
            ballot(&[1, 2, 3, 4]), // marks more than seats: invalid
        ];
        let res = count_election(&r);
        assert_eq!((res.valid, res.invalid), (4, 1));
        // Votes: 1→4, 2→3, 3→3, 4→2. Half of 5 present is 2.5: 1,2,3 qualify.
        let elected: Vec<i64> = res
            .candidates
            .iter()
            .filter(|c| c.elected)
            .map(|c| c.member_id)
            .collect();
        assert_eq!(elected, vec![1, 2, 3]);
        assert_eq!(res.outcome, ElectionOutcome::Elected);
        assert_eq!(res.unfilled, 0);
    }

    #[test]
    fn too_few_votes_leave_seats_for_another_round() {
        // 2 of 5 present is not more than half: candidate 3 is not elected.
        let mut r = round(2, 5, 5, &[1, 2, 3]);
        r.ballots = vec![
            ballot(&[1, 3]),
            ballot(&[1, 3]),
            ballot(&[1]),
            ballot(&[2]),
            ballot(&[]),
        ];
        let res = count_election(&r);
        assert_eq!(res.outcome, ElectionOutcome::Rerun);
        assert_eq!(res.unfilled, 1);
        assert!(res.candidates[0].elected && res.candidates[0].member_id == 1);
        assert!(!res.candidates[1].elected);
    }

    #[test]
    fn a_tie_for_the_last_seat_goes_to_another_round() {
        // 2 seats, 5 present; 1 has 4 votes, 2 and 3 both 3: one seat left, two tied.
        let mut r = round(2, 5, 5, &[1, 2, 3]);
        r.ballots = vec![
            ballot(&[1, 2]),
            ballot(&[1, 3]),
            ballot(&[2, 3]),
            ballot(&[1, 2]),
            ballot(&[1, 3]),
        ];
        let res = count_election(&r);
        let by = |id: i64| res.candidates.iter().find(|c| c.member_id == id).unwrap();
        assert_eq!((by(2).votes, by(3).votes), (3, 3));
        assert!(by(1).elected);
        assert!(by(2).tied && by(3).tied && !by(2).elected && !by(3).elected);
        assert_eq!((res.outcome, res.unfilled), (ElectionOutcome::Rerun, 1));
    }

    #[test]
    fn more_ballots_returned_than_issued_voids_the_round() {
        let mut r = round(1, 3, 3, &[1, 2]);
        r.issued = 2;
        r.ballots = vec![ballot(&[1]), ballot(&[1]), ballot(&[1])];
        let res = count_election(&r);
        assert_eq!(res.outcome, ElectionOutcome::Void);
        assert!(res.candidates.iter().all(|c| !c.elected));
        // Fewer returned than issued is fine: 2 of 3 present elect candidate 1.
        r.ballots.pop();
        assert_eq!(count_election(&r).outcome, ElectionOutcome::Elected);
    }

    #[test]
    fn committee_roles() {
        use CommitteeRole::*;
        assert!(check_committee(&[(1, Secretary), (2, Deputy), (3, Member)]).is_empty());
        assert_eq!(
            check_committee(&[(1, Secretary), (2, Secretary)])[0].code,
            "one_secretary"
        );
        assert_eq!(
            check_committee(&[(1, Member), (1, Deputy)])[0].code,
            "duplicate"
        );
        let eight: Vec<_> = (1..=8).map(|i| (i, Member)).collect();
        assert_eq!(check_committee(&eight)[0].code, "invalid_value");
    }
}
