//! The ownership rules, on an in-memory database; and the fixtures the tests of teams, people
//! and alignments share with them.

use super::*;
use crate::domain::change::Writer;
use crate::domain::person::CreatePerson;
use crate::domain::team::{AddTeamMember, CreateTeam};
use crate::domain::testing::{editor, writer};
use crate::domain::types::{Name, Slug};
use entity::audit_event;
use entity::enums::{Department, MembershipRole, PersonaKind, Provenance, Status};

/// A journey `slug` with stages `keys`, at version 1, written directly (no history).
pub(crate) async fn journey(w: &Writer, slug: &str, keys: &[&str]) -> journey::Model {
    let now = chrono::Utc::now();
    let j = journey::ActiveModel {
        slug: Set(slug.to_owned()),
        name: Set(format!("Journey {slug}")),
        persona_kind: Set(PersonaKind::Buyer),
        status: Set(Status::Active),
        provenance: Set(Provenance::Editor),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap();
    for (i, key) in keys.iter().enumerate() {
        journey_stage::ActiveModel {
            journey_id: Set(j.id),
            key: Set((*key).to_owned()),
            name: Set(format!("Stage {key}")),
            position: Set(i32::try_from(i).unwrap() + 1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(w.db())
        .await
        .unwrap();
    }
    j
}

/// A team `slug`, created by its command.
pub(crate) async fn team(w: &Writer, slug: &str) -> team::Model {
    let cmd = CreateTeam {
        slug: Slug::parse("slug", slug).unwrap(),
        name: Name::parse("name", &format!("Team {slug}")).unwrap(),
        department: Department::Product,
        description: None,
    };
    w.run(&editor(), &cmd).await.unwrap()
}

/// A person `slug`, created by its command.
pub(crate) async fn person(w: &Writer, slug: &str) -> person::Model {
    let cmd = CreatePerson {
        slug: Slug::parse("slug", slug).unwrap(),
        name: Name::parse("name", &format!("Person {slug}")).unwrap(),
        email: None,
    };
    w.run(&editor(), &cmd).await.unwrap()
}

/// Makes `person` a member of `team`.
pub(crate) async fn member(w: &Writer, team: &str, person: &str) {
    let cmd = AddTeamMember {
        team: team.into(),
        person: person.into(),
        role: MembershipRole::Member,
    };
    w.run(&editor(), &cmd).await.unwrap();
}

/// The version of journey `id` now.
pub(crate) async fn journey_version(w: &Writer, id: i32) -> i32 {
    journey::Entity::find_by_id(id)
        .one(w.db())
        .await
        .unwrap()
        .unwrap()
        .version
}

/// The version of team `id` now.
pub(crate) async fn team_version(w: &Writer, id: i32) -> i32 {
    team::Entity::find_by_id(id)
        .one(w.db())
        .await
        .unwrap()
        .unwrap()
        .version
}

/// The history, oldest first.
pub(crate) async fn events(w: &Writer) -> Vec<audit_event::Model> {
    audit_event::Entity::find().all(w.db()).await.unwrap()
}

/// Every ownership row.
pub(crate) async fn owners(w: &Writer) -> Vec<stage_ownership::Model> {
    stage_ownership::Entity::find().all(w.db()).await.unwrap()
}

/// An assignment of `team` to stage `stage` of journey `j`.
pub(crate) fn assign(
    stage: &str,
    team: &str,
    responsibility: Responsibility,
    dri: Option<&str>,
) -> AssignStageOwner {
    AssignStageOwner {
        journey: "j".into(),
        stage: stage.into(),
        team: team.into(),
        responsibility,
        dri: dri.map(Into::into),
        note: None,
    }
}

#[tokio::test]
async fn an_assignment_bumps_the_journey_once_and_is_in_the_stages_history() {
    let w = writer().await;
    let j = journey(&w, "j", &["a"]).await;
    let t = team(&w, "pm").await;
    person(&w, "ann").await;
    member(&w, "pm", "ann").await;
    let team_before = team_version(&w, t.id).await;
    let row = w
        .run(
            &editor(),
            &assign("a", "pm", Responsibility::Accountable, Some("ann")),
        )
        .await
        .unwrap();
    assert!(row.person_id.is_some());
    assert_eq!(journey_version(&w, j.id).await, 2);
    assert_eq!(
        team_version(&w, t.id).await,
        team_before,
        "an ownership is part of the journey, not of the team"
    );
    let last = events(&w).await.pop().unwrap();
    assert_eq!(last.action, "assignStageOwner");
    assert_eq!(last.subject_key.as_deref(), Some("j/a"));
    let after = last.after.unwrap();
    assert_eq!(
        (&after["team"], &after["dri"]),
        (&"pm".into(), &"ann".into())
    );
}

#[tokio::test]
async fn a_second_accountable_owner_is_a_conflict_naming_the_holder_and_writes_nothing() {
    let w = writer().await;
    let j = journey(&w, "j", &["a"]).await;
    team(&w, "pm").await;
    team(&w, "eng").await;
    let accountable = Responsibility::Accountable;
    w.run(&editor(), &assign("a", "pm", accountable, None))
        .await
        .unwrap();
    let history = events(&w).await.len();
    let err = w
        .run(&editor(), &assign("a", "eng", accountable, None))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("(team pm)"), "{err}");
    assert_eq!(owners(&w).await.len(), 1);
    assert_eq!(events(&w).await.len(), history);
    assert_eq!(
        journey_version(&w, j.id).await,
        2,
        "the refusal rolled back"
    );
    // The same team again is refused whatever its responsibility.
    let err = w
        .run(
            &editor(),
            &assign("a", "pm", Responsibility::Informed, None),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("use changeStageOwner"), "{err}");
}

#[tokio::test]
async fn the_databases_indexes_answer_the_same_conflicts_as_the_checks() {
    let w = writer().await;
    let j = journey(&w, "j", &["a"]).await;
    let pm = team(&w, "pm").await;
    let eng = team(&w, "eng").await;
    let stage = journey_stage::Entity::find().one(w.db()).await.unwrap();
    let stage = stage.unwrap();
    let row = |team: i32, responsibility| {
        let now = chrono::Utc::now();
        stage_ownership::ActiveModel {
            stage_id: Set(stage.id),
            team_id: Set(team),
            responsibility: Set(responsibility),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    };
    row(pm.id, Responsibility::Accountable)
        .insert(w.db())
        .await
        .unwrap();
    // What a race past the checks meets: the partial unique index, then the (stage, team) one.
    let twice = row(eng.id, Responsibility::Accountable)
        .insert(w.db())
        .await
        .unwrap_err();
    let err = ownership_conflict(twice, "a", "eng");
    assert!(matches!(err, AppError::Conflict(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("stage a already has an ACCOUNTABLE owner;")
    );
    let same = row(pm.id, Responsibility::Consulted)
        .insert(w.db())
        .await
        .unwrap_err();
    let err = ownership_conflict(same, "a", "pm");
    assert!(err.to_string().contains("use changeStageOwner"), "{err}");
    assert_eq!(journey_version(&w, j.id).await, 1);
}

#[tokio::test]
async fn a_dri_must_be_a_member_of_the_owning_team() {
    let w = writer().await;
    let j = journey(&w, "j", &["a"]).await;
    team(&w, "pm").await;
    team(&w, "eng").await;
    person(&w, "ann").await;
    member(&w, "eng", "ann").await;
    let history = events(&w).await.len();
    let err = w
        .run(
            &editor(),
            &assign("a", "pm", Responsibility::Responsible, Some("ann")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "dri: must be a member of team pm");
    assert!(owners(&w).await.is_empty());
    assert_eq!(events(&w).await.len(), history);
    assert_eq!(journey_version(&w, j.id).await, 1);

    // Changing an ownership's DRI checks the same; null clears it.
    let row = w
        .run(
            &editor(),
            &assign("a", "eng", Responsibility::Responsible, None),
        )
        .await
        .unwrap();
    let change = |dri: Option<&str>| ChangeStageOwner {
        which: OwnershipRef::Id(row.id),
        key: "o".into(),
        responsibility: None,
        dri: Some(dri.map(Into::into)),
        note: None,
    };
    person(&w, "bob").await;
    let err = w.run(&editor(), &change(Some("bob"))).await.unwrap_err();
    assert!(matches!(err, AppError::BadInput { ref field, .. } if field == "dri"));
    let set = w.run(&editor(), &change(Some("ann"))).await.unwrap();
    assert_eq!(set.person_id, Some(owners(&w).await[0].person_id.unwrap()));
    let cleared = w.run(&editor(), &change(None)).await.unwrap();
    assert_eq!(cleared.person_id, None);
    assert_eq!(journey_version(&w, j.id).await, 4, "one bump per change");
}

#[tokio::test]
async fn changing_to_accountable_beside_another_is_a_conflict_and_removal_bumps_the_journey() {
    let w = writer().await;
    let j = journey(&w, "j", &["a"]).await;
    team(&w, "pm").await;
    team(&w, "eng").await;
    w.run(
        &editor(),
        &assign("a", "pm", Responsibility::Accountable, None),
    )
    .await
    .unwrap();
    let eng = w
        .run(
            &editor(),
            &assign("a", "eng", Responsibility::Consulted, None),
        )
        .await
        .unwrap();
    let promote = ChangeStageOwner {
        which: OwnershipRef::Id(eng.id),
        key: "o".into(),
        responsibility: Some(Responsibility::Accountable),
        dri: None,
        note: None,
    };
    let err = w.run(&editor(), &promote).await.unwrap_err();
    assert!(err.to_string().contains("(team pm)"), "{err}");
    assert_eq!(journey_version(&w, j.id).await, 3);

    // Named by its stage and team, as an editor knows it.
    let remove = RemoveStageOwner {
        which: OwnershipRef::Stage {
            journey: "j".into(),
            stage: "a".into(),
            team: "eng".into(),
        },
        key: "o".into(),
    };
    w.run(&editor(), &remove).await.unwrap();
    assert_eq!(journey_version(&w, j.id).await, 4);
    assert_eq!(events(&w).await.pop().unwrap().action, "removeStageOwner");
    let err = w.run(&editor(), &remove).await.unwrap_err();
    assert_eq!(err.to_string(), "stage ownership not found: o");
    assert_eq!(journey_version(&w, j.id).await, 4);
}
