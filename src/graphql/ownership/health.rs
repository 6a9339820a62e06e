//! A journey's ownership health as GraphQL objects (`JourneyHealth`, `Handoff`, `TeamLoad`):
//! the figures `domain::ownership::health` works out, with the stages and teams they name.

use super::Team;
use crate::domain::ownership::health::{self, Health, Owner};
use crate::graphql::journey::{Journey, Stage};
use async_graphql::{Object, SimpleObject};
use entity::{journey, journey_stage, stage_ownership, team};
use std::collections::HashMap;

/// The health of a journey's ownership: the stages without an ACCOUNTABLE owner (gaps), the
/// stages without a RESPONSIBLE team, the handoffs (consecutive stages whose RESPONSIBLE teams
/// differ, both having some), and each team's load.
pub struct JourneyHealth {
    journey: journey::Model,
    stages: HashMap<i32, journey_stage::Model>,
    teams: HashMap<i32, team::Model>,
    health: Health,
}

impl JourneyHealth {
    /// The health of `journey`, whose stages (in position order) are `stages`, owned by
    /// `owned` (ownership and team).
    pub(super) fn new<'a>(
        journey: &journey::Model,
        stages: &[journey_stage::Model],
        owned: impl Iterator<Item = (&'a stage_ownership::Model, Option<&'a team::Model>)>,
    ) -> Self {
        let mut teams = HashMap::new();
        let mut owners = Vec::new();
        for (o, t) in owned {
            if let Some(t) = t {
                teams.entry(t.id).or_insert_with(|| t.clone());
            }
            owners.push(Owner {
                stage: o.stage_id,
                team: o.team_id,
                responsibility: o.responsibility,
            });
        }
        let ids: Vec<i32> = stages.iter().map(|s| s.id).collect();
        Self {
            journey: journey.clone(),
            stages: stages.iter().map(|s| (s.id, s.clone())).collect(),
            teams,
            health: health::health(&ids, &owners),
        }
    }

    fn stages(&self, ids: &[i32]) -> Vec<Stage> {
        ids.iter()
            .filter_map(|id| self.stages.get(id).cloned().map(Stage))
            .collect()
    }

    fn teams(&self, ids: &[i32]) -> Vec<Team> {
        ids.iter()
            .filter_map(|id| self.teams.get(id).cloned().map(Team))
            .collect()
    }
}

/// The health of a journey's ownership.
#[Object]
impl JourneyHealth {
    /// The journey.
    async fn journey(&self) -> Journey {
        Journey(self.journey.clone())
    }
    /// How many stages the journey has.
    async fn stage_count(&self) -> usize {
        self.stages.len()
    }
    /// How many stages have no ACCOUNTABLE owner (the journey's ownership gaps).
    async fn gap_count(&self) -> usize {
        self.health.without_accountable.len()
    }
    /// Stages without an ACCOUNTABLE owner, in order.
    async fn stages_without_accountable(&self) -> Vec<Stage> {
        self.stages(&self.health.without_accountable)
    }
    /// How many stages have no RESPONSIBLE team.
    async fn unstaffed_count(&self) -> usize {
        self.health.without_responsible.len()
    }
    /// Stages without a RESPONSIBLE team, in order.
    async fn stages_without_responsible(&self) -> Vec<Stage> {
        self.stages(&self.health.without_responsible)
    }
    /// How many handoffs the journey has.
    async fn handoff_count(&self) -> usize {
        self.health.handoffs.len()
    }
    /// Where the work changes hands: consecutive stages whose sets of RESPONSIBLE teams differ
    /// (stages without a RESPONSIBLE team are not counted; they are unstaffed), in stage order.
    async fn handoffs(&self) -> Vec<Handoff> {
        self.health
            .handoffs
            .iter()
            .filter_map(|h| {
                Some(Handoff {
                    from: Stage(self.stages.get(&h.from_stage)?.clone()),
                    to: Stage(self.stages.get(&h.to_stage)?.clone()),
                    from_teams: self.teams(&h.from_teams),
                    to_teams: self.teams(&h.to_teams),
                })
            })
            .collect()
    }
    /// Each team with an ownership in the journey and how many stages it carries, the most
    /// loaded first (ACCOUNTABLE plus RESPONSIBLE stages, then ACCOUNTABLE ones).
    async fn team_loads(&self) -> Vec<TeamLoad> {
        self.health
            .loads
            .iter()
            .filter_map(|l| {
                Some(TeamLoad {
                    team: Team(self.teams.get(&l.team)?.clone()),
                    accountable: l.accountable,
                    responsible: l.responsible,
                })
            })
            .collect()
    }
}

/// Where the work passes between teams: from one stage to the next, whose RESPONSIBLE teams
/// differ.
#[derive(SimpleObject)]
pub(super) struct Handoff {
    /// The stage the work leaves.
    from: Stage,
    /// The next stage.
    to: Stage,
    /// The teams RESPONSIBLE for `from`, by ID.
    from_teams: Vec<Team>,
    /// The teams RESPONSIBLE for `to`, by ID.
    to_teams: Vec<Team>,
}

/// How many of a journey's stages a team carries.
#[derive(SimpleObject)]
pub(super) struct TeamLoad {
    /// The team.
    team: Team,
    /// Stages it is ACCOUNTABLE for.
    accountable: usize,
    /// Stages it is RESPONSIBLE for.
    responsible: usize,
}
