//! A journey's ownership health, worked out once for every reader (the API's `journeyHealth`,
//! the matrix's `health`, the dashboard page): which stages have no ACCOUNTABLE owner, which
//! have no RESPONSIBLE team, where the work changes hands, and how much each team carries.
//!
//! The rules:
//! - a *gap* is a stage without an ACCOUNTABLE owner;
//! - a stage is *unstaffed* when no team is RESPONSIBLE for it;
//! - a *handoff* is a pair of consecutive stages (by position) whose sets of RESPONSIBLE teams
//!   differ, both sets being non-empty (a stage nobody works on is reported as unstaffed, not as
//!   two handoffs);
//! - a team's *load* is the number of the journey's stages it is ACCOUNTABLE for and the number
//!   it is RESPONSIBLE for; teams that are only CONSULTED or INFORMED carry none but are listed.

use entity::enums::Responsibility;
use std::collections::{BTreeMap, BTreeSet};

/// One ownership, as the rules need it: which stage, which team, which responsibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The stage's ID.
    pub stage: i32,
    /// The team's ID.
    pub team: i32,
    /// The team's responsibility for the stage.
    pub responsibility: Responsibility,
}

/// Where the work passes from one set of RESPONSIBLE teams to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// The stage the work leaves (its ID).
    pub from_stage: i32,
    /// The next stage (its ID).
    pub to_stage: i32,
    /// The teams RESPONSIBLE for `from_stage`, by ID.
    pub from_teams: Vec<i32>,
    /// The teams RESPONSIBLE for `to_stage`, by ID.
    pub to_teams: Vec<i32>,
}

/// How many of the journey's stages a team carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// The team's ID.
    pub team: i32,
    /// Stages it is ACCOUNTABLE for.
    pub accountable: usize,
    /// Stages it is RESPONSIBLE for.
    pub responsible: usize,
}

/// The health of one journey's ownership.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Health {
    /// Stages (IDs, in order) without an ACCOUNTABLE owner.
    pub without_accountable: Vec<i32>,
    /// Stages (IDs, in order) without a RESPONSIBLE team.
    pub without_responsible: Vec<i32>,
    /// The handoffs, in stage order.
    pub handoffs: Vec<Handoff>,
    /// Every team with an ownership in the journey, the most loaded first (accountable plus
    /// responsible, then accountable), ties by team ID.
    pub loads: Vec<Load>,
}

/// The health of a journey whose stages are `stages` (IDs in position order) and whose
/// ownerships are `owners`. Ownerships of other stages are ignored.
pub fn health(stages: &[i32], owners: &[Owner]) -> Health {
    let mut responsible: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    let mut accountable: BTreeSet<i32> = BTreeSet::new();
    let mut loads: BTreeMap<i32, Load> = BTreeMap::new();
    let known: BTreeSet<i32> = stages.iter().copied().collect();
    for o in owners.iter().filter(|o| known.contains(&o.stage)) {
        let load = loads.entry(o.team).or_insert(Load {
            team: o.team,
            accountable: 0,
            responsible: 0,
        });
        match o.responsibility {
            Responsibility::Accountable => {
                accountable.insert(o.stage);
                load.accountable += 1;
            }
            Responsibility::Responsible => {
                responsible.entry(o.stage).or_default().insert(o.team);
                load.responsible += 1;
            }
            Responsibility::Consulted | Responsibility::Informed => {}
        }
    }
    let teams_of = |stage: i32| -> Vec<i32> {
        responsible
            .get(&stage)
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default()
    };
    let handoffs = stages
        .windows(2)
        .filter_map(|pair| {
            let (from, to) = (teams_of(pair[0]), teams_of(pair[1]));
            (!from.is_empty() && !to.is_empty() && from != to).then(|| Handoff {
                from_stage: pair[0],
                to_stage: pair[1],
                from_teams: from,
                to_teams: to,
            })
        })
        .collect();
    let mut loads: Vec<Load> = loads.into_values().collect();
    loads.sort_by_key(|l| {
        (
            std::cmp::Reverse(l.accountable + l.responsible),
            std::cmp::Reverse(l.accountable),
            l.team,
        )
    });
    Health {
        without_accountable: stages
            .iter()
            .copied()
            .filter(|s| !accountable.contains(s))
            .collect(),
        without_responsible: stages
            .iter()
            .copied()
            .filter(|s| !responsible.contains_key(s))
            .collect(),
        handoffs,
        loads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Responsibility::{Accountable, Consulted, Informed, Responsible};

    fn own(stage: i32, team: i32, responsibility: Responsibility) -> Owner {
        Owner {
            stage,
            team,
            responsibility,
        }
    }

    #[test]
    fn an_empty_journey_is_healthy_and_a_journey_without_owners_is_all_gaps() {
        assert_eq!(health(&[], &[]), Health::default());
        let h = health(&[1, 2], &[]);
        assert_eq!(h.without_accountable, [1, 2]);
        assert_eq!(h.without_responsible, [1, 2]);
        assert!(h.handoffs.is_empty());
        assert!(h.loads.is_empty());
    }

    #[test]
    fn gaps_and_unstaffed_stages_are_listed_in_stage_order() {
        let owners = [
            own(3, 10, Accountable),
            own(3, 11, Responsible),
            own(1, 10, Responsible),
            own(2, 12, Consulted),
        ];
        let h = health(&[3, 1, 2], &owners);
        assert_eq!(h.without_accountable, [1, 2]);
        assert_eq!(h.without_responsible, [2]);
    }

    #[test]
    fn a_handoff_is_where_the_responsible_teams_change_between_worked_stages() {
        let owners = [
            own(1, 10, Responsible),
            own(2, 10, Responsible),
            own(3, 11, Responsible),
            own(3, 10, Responsible),
            // Stage 4: nobody responsible; stage 5: team 10 again.
            own(4, 12, Informed),
            own(5, 10, Responsible),
            own(6, 12, Responsible),
        ];
        let h = health(&[1, 2, 3, 4, 5, 6], &owners);
        assert_eq!(
            h.handoffs,
            [
                Handoff {
                    from_stage: 2,
                    to_stage: 3,
                    from_teams: vec![10],
                    to_teams: vec![10, 11],
                },
                Handoff {
                    from_stage: 5,
                    to_stage: 6,
                    from_teams: vec![10],
                    to_teams: vec![12],
                },
            ]
        );
        assert_eq!(h.without_responsible, [4]);
    }

    #[test]
    fn loads_count_accountable_and_responsible_stages_most_loaded_first() {
        let owners = [
            own(1, 10, Consulted),
            own(1, 11, Accountable),
            own(2, 11, Responsible),
            own(2, 12, Accountable),
            own(3, 12, Accountable),
            // A stage of another journey does not count.
            own(99, 10, Accountable),
        ];
        let h = health(&[1, 2, 3], &owners);
        assert_eq!(
            h.loads,
            [
                Load {
                    team: 12,
                    accountable: 2,
                    responsible: 0
                },
                Load {
                    team: 11,
                    accountable: 1,
                    responsible: 1
                },
                Load {
                    team: 10,
                    accountable: 0,
                    responsible: 0
                },
            ]
        );
    }
}
