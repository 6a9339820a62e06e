//! The journey rules: stages keep positions 1..n with unique keys, every stage or narrowing
//! change advances the journey once, a narrowed journey matches its persona kind from every
//! side, and a refused change writes nothing.

use super::narrowing::SetJourneyPersonas;
use super::stage::{AddStage, MoveStage, RemoveStage, ReorderStages};
use super::*;
use crate::domain::change::Writer;
use crate::domain::link::{AddExternalLink, LinkSubject};
use crate::domain::persona::{CreatePersona, DeletePersona, UpdatePersona};
use crate::domain::testing::{editor, writer};
use crate::domain::types::{TextList, Url};
use entity::enums::{LinkAccess, LinkKind};
use entity::{audit_event, external_link, journey_stage, persona};
use sea_orm::QueryOrder;

fn stage(key: &str) -> NewStage {
    NewStage {
        key: Slug::parse("key", key).unwrap(),
        name: Name::parse("name", key).unwrap(),
        goal: None,
        entry_criteria: None,
        exit_criteria: None,
    }
}

fn create(slug: &str, kind: PersonaKind, keys: &[&str], personas: &[&str]) -> CreateJourney {
    CreateJourney {
        slug: Slug::parse("slug", slug).unwrap(),
        name: Name::parse("name", "A journey").unwrap(),
        description: None,
        persona_kind: kind,
        status: Status::Active,
        personas: personas.iter().map(|p| (*p).to_owned()).collect(),
        stages: keys.iter().map(|k| stage(k)).collect(),
        provenance: Provenance::Editor,
    }
}

async fn persona(w: &Writer, slug: &str, kind: PersonaKind) -> persona::Model {
    let cmd = CreatePersona {
        slug: Slug::parse("slug", slug).unwrap(),
        name: Name::parse("name", slug).unwrap(),
        kind,
        status: Status::Active,
        summary: None,
        description: None,
        pain_points: TextList::default(),
        motivations: TextList::default(),
        pain_intensity: None,
        pain_intensity_note: None,
        value_prop_scope: None,
        sort_order: 0,
        source_url: None,
        roles: Vec::new(),
        provenance: Provenance::Editor,
    };
    w.run(&editor(), &cmd).await.unwrap()
}

async fn version(w: &Writer, id: i32) -> i32 {
    reload(w.db(), id).await.unwrap().version
}

/// The journey's stage keys with their positions, in position order.
async fn order(w: &Writer, id: i32) -> Vec<(String, i32)> {
    journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(id))
        .order_by_asc(journey_stage::Column::Position)
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.key, s.position))
        .collect()
}

fn numbered(keys: &[&str]) -> Vec<(String, i32)> {
    keys.iter().map(|k| (*k).to_owned()).zip(1..).collect()
}

async fn event_count(w: &Writer) -> usize {
    audit_event::Entity::find().all(w.db()).await.unwrap().len()
}

fn field_of(err: &AppError) -> &str {
    match err {
        AppError::BadInput { field, .. } => field,
        other => panic!("expected BAD_USER_INPUT, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_journey_with_stages_is_version_one_at_positions_one_to_n() {
    let w = writer().await;
    let j = w
        .run(
            &editor(),
            &create("funnel", PersonaKind::Dev, &["a", "b", "c"], &[]),
        )
        .await
        .unwrap();
    assert_eq!(version(&w, j.id).await, 1);
    assert_eq!(order(&w, j.id).await, numbered(&["a", "b", "c"]));
    let events = audit_event::Entity::find().all(w.db()).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].after.as_ref().unwrap()["stages"][2]["key"], "c");
}

#[tokio::test]
async fn repeated_or_too_many_stages_are_refused_and_create_nothing() {
    let w = writer().await;
    let err = w
        .run(
            &editor(),
            &create("funnel", PersonaKind::Dev, &["a", "b", "a"], &[]),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "stages[2].key");
    let many: Vec<String> = (0..=STAGES).map(|i| format!("s{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = w
        .run(&editor(), &create("funnel", PersonaKind::Dev, &many, &[]))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "stages");
    assert!(
        journey::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(event_count(&w).await, 0);
}

const STAGES: usize = crate::domain::types::STAGES_MAX;

#[tokio::test]
async fn stage_changes_keep_positions_without_gaps_and_advance_the_journey_once_each() {
    let w = writer().await;
    let j = w
        .run(
            &editor(),
            &create("funnel", PersonaKind::Dev, &["a", "b", "c"], &[]),
        )
        .await
        .unwrap();
    let add = AddStage {
        journey: "funnel".into(),
        stage: stage("x"),
        position: Some(2),
    };
    let x = w.run(&editor(), &add).await.unwrap();
    assert_eq!(order(&w, j.id).await, numbered(&["a", "x", "b", "c"]));
    assert_eq!(version(&w, j.id).await, 2);
    let err = w.run(&editor(), &add).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "journey funnel already has a stage with key x"
    );

    let moved = MoveStage {
        id: x.id,
        key: "x".into(),
        position: 4,
    };
    assert_eq!(w.run(&editor(), &moved).await.unwrap().version, 3);
    assert_eq!(order(&w, j.id).await, numbered(&["a", "b", "c", "x"]));

    let reorder = |keys: &[&str]| ReorderStages {
        journey: "funnel".into(),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    };
    let err = w
        .run(&editor(), &reorder(&["c", "b", "a"]))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "keys: is missing stage key x");
    assert_eq!(order(&w, j.id).await, numbered(&["a", "b", "c", "x"]));
    assert_eq!(
        version(&w, j.id).await,
        3,
        "a refused reorder changes nothing"
    );
    w.run(&editor(), &reorder(&["x", "c", "b", "a"]))
        .await
        .unwrap();
    assert_eq!(order(&w, j.id).await, numbered(&["x", "c", "b", "a"]));
    assert_eq!(version(&w, j.id).await, 4);

    let doc = AddExternalLink {
        subject: LinkSubject {
            kind: SubjectType::Stage,
            id: x.id,
        },
        subject_key: "x".into(),
        label: Name::parse("label", "Deck").unwrap(),
        url: Url::parse("url", "https://example.com/deck").unwrap(),
        kind: LinkKind::Slides,
        access: LinkAccess::Internal,
    };
    w.run(&editor(), &doc).await.unwrap();
    assert_eq!(
        version(&w, j.id).await,
        5,
        "a stage's link is part of the journey"
    );
    let remove = RemoveStage {
        id: x.id,
        key: "x".into(),
    };
    w.run(&editor(), &remove).await.unwrap();
    assert_eq!(order(&w, j.id).await, numbered(&["c", "b", "a"]));
    assert_eq!(version(&w, j.id).await, 6);
    assert!(
        external_link::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_narrowed_journey_matches_its_persona_kind_from_every_side() {
    let w = writer().await;
    let dev = persona(&w, "dev", PersonaKind::Dev).await;
    persona(&w, "cto", PersonaKind::Buyer).await;
    let j = w
        .run(
            &editor(),
            &create("funnel", PersonaKind::Dev, &[], &["dev"]),
        )
        .await
        .unwrap();
    let before = event_count(&w).await;

    let narrow = SetJourneyPersonas {
        journey: "funnel".into(),
        personas: vec!["dev".into(), "cto".into()],
    };
    let err = w.run(&editor(), &narrow).await.unwrap_err();
    assert_eq!(field_of(&err), "personas[1]");

    let rekind = UpdateJourney {
        slug: "funnel".into(),
        expected_version: 1,
        name: None,
        description: None,
        persona_kind: Some(PersonaKind::Buyer),
        status: None,
    };
    let err = w.run(&editor(), &rekind).await.unwrap_err();
    assert_eq!(field_of(&err), "personaKind");

    let rekind_persona = UpdatePersona {
        slug: "dev".into(),
        expected_version: 1,
        name: None,
        kind: Some(PersonaKind::Buyer),
        status: None,
        summary: None,
        description: None,
        pain_points: None,
        motivations: None,
        pain_intensity: None,
        pain_intensity_note: None,
        value_prop_scope: None,
        sort_order: None,
        source_url: None,
    };
    let err = w.run(&editor(), &rekind_persona).await.unwrap_err();
    assert_eq!(field_of(&err), "kind");
    assert!(err.to_string().contains("journey funnel"), "{err}");

    assert_eq!(version(&w, j.id).await, 1);
    assert_eq!(
        crate::domain::persona::reload(w.db(), dev.id)
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(event_count(&w).await, before, "refusals write no history");

    // Cleared, the journey opens to its whole kind and either may change.
    let clear = SetJourneyPersonas {
        journey: "funnel".into(),
        personas: Vec::new(),
    };
    assert_eq!(w.run(&editor(), &clear).await.unwrap().version, 2);
    w.run(&editor(), &rekind_persona).await.unwrap();
}

#[tokio::test]
async fn deleting_the_only_persona_of_a_narrowing_is_refused_and_a_shared_one_leaves_it() {
    let w = writer().await;
    persona(&w, "a", PersonaKind::Buyer).await;
    persona(&w, "b", PersonaKind::Buyer).await;
    let sole = w
        .run(&editor(), &create("sole", PersonaKind::Buyer, &[], &["a"]))
        .await
        .unwrap();
    let shared = w
        .run(
            &editor(),
            &create("shared", PersonaKind::Buyer, &[], &["a", "b"]),
        )
        .await
        .unwrap();
    let before = event_count(&w).await;

    let err = w
        .run(&editor(), &DeletePersona { slug: "a".into() })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("journey sole is narrowed to persona a alone"),
        "{err}"
    );
    assert_eq!(
        (version(&w, sole.id).await, version(&w, shared.id).await),
        (1, 1)
    );
    assert_eq!(event_count(&w).await, before);

    let clear = SetJourneyPersonas {
        journey: "sole".into(),
        personas: Vec::new(),
    };
    w.run(&editor(), &clear).await.unwrap();
    w.run(&editor(), &DeletePersona { slug: "a".into() })
        .await
        .unwrap();
    assert_eq!(
        version(&w, shared.id).await,
        2,
        "the journey lost a persona"
    );
    assert_eq!(
        narrowing::slugs_of(w.db(), shared.id).await.unwrap(),
        serde_json::json!(["b"])
    );
}

#[tokio::test]
async fn deleting_a_journey_removes_the_links_about_it_and_its_stages() {
    let w = writer().await;
    let j = w
        .run(&editor(), &create("funnel", PersonaKind::Dev, &["a"], &[]))
        .await
        .unwrap();
    let a = journey_stage::Entity::find()
        .one(w.db())
        .await
        .unwrap()
        .unwrap();
    for (kind, id) in [(SubjectType::Journey, j.id), (SubjectType::Stage, a.id)] {
        let doc = AddExternalLink {
            subject: LinkSubject { kind, id },
            subject_key: "s".into(),
            label: Name::parse("label", "Deck").unwrap(),
            url: Url::parse("url", "https://example.com/deck").unwrap(),
            kind: LinkKind::Slides,
            access: LinkAccess::Internal,
        };
        w.run(&editor(), &doc).await.unwrap();
    }
    w.run(
        &editor(),
        &DeleteJourney {
            slug: "funnel".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        external_link::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        journey_stage::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    let events = audit_event::Entity::find().all(w.db()).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.action, "deleteJourney");
    assert_eq!(last.before.as_ref().unwrap()["stages"][0]["key"], "a");
}
