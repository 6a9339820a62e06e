//! The persona rules: a persona with its roles starts at version 1, each later change to it or
//! its roles and links advances it once, and a refused change writes nothing.

use super::link::{LinkPersonas, UnlinkPersonas};
use super::role::{AddRole, RemoveRole, UpdateRole};
use super::*;
use crate::domain::change::Writer;
use crate::domain::link::{AddExternalLink, LinkSubject};
use crate::domain::testing::{editor, writer};
use entity::enums::{LinkAccess, LinkKind, PersonaLinkKind};
use entity::{audit_event, external_link, persona_link};

fn create(slug: &str, roles: &[&str]) -> CreatePersona {
    CreatePersona {
        slug: Slug::parse("slug", slug).unwrap(),
        name: Name::parse("name", "A persona").unwrap(),
        kind: PersonaKind::Buyer,
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
        roles: roles.iter().map(|r| Name::parse("r", r).unwrap()).collect(),
        provenance: Provenance::Editor,
    }
}

async fn version(w: &Writer, id: i32) -> i32 {
    reload(w.db(), id).await.unwrap().version
}

async fn events(w: &Writer) -> Vec<String> {
    audit_event::Entity::find()
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_new_persona_and_its_roles_are_version_one_with_one_history_event() {
    let w = writer().await;
    let p = w
        .run(&editor(), &create("cto", &["CTO", "VP Eng"]))
        .await
        .unwrap();
    assert_eq!(version(&w, p.id).await, 1);
    let history = audit_event::Entity::find().all(w.db()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "createPersona");
    let after = history[0].after.clone().unwrap();
    assert_eq!(after["roles"][1]["title"], "VP Eng");
    assert_eq!(after["roles"][1]["sort_order"], 2);
}

#[tokio::test]
async fn repeated_role_titles_are_refused_naming_the_repeat_and_write_nothing() {
    let w = writer().await;
    let err = w
        .run(&editor(), &create("cto", &["CTO", "Dev", "cto"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::BadInput { field, .. } if field == "roles[2]"),
        "{err:?}"
    );
    assert!(
        persona::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(events(&w).await.is_empty());
}

#[tokio::test]
async fn each_role_change_advances_the_persona_once_and_a_taken_title_changes_nothing() {
    let w = writer().await;
    let p = w.run(&editor(), &create("cto", &["CTO"])).await.unwrap();
    let add = |title: &str| AddRole {
        persona: "cto".into(),
        title: Name::parse("title", title).unwrap(),
        sort_order: None,
    };
    let r = w.run(&editor(), &add("VP Eng")).await.unwrap();
    assert_eq!((r.sort_order, version(&w, p.id).await), (2, 2));
    let err = w.run(&editor(), &add("vp eng")).await.unwrap_err();
    assert_eq!(err.to_string(), "persona cto already has the role vp eng");
    assert_eq!(version(&w, p.id).await, 2);
    let update = UpdateRole {
        id: r.id,
        key: "r".into(),
        title: Some(Name::parse("title", "Head of Eng").unwrap()),
        sort_order: None,
    };
    w.run(&editor(), &update).await.unwrap();
    assert_eq!(version(&w, p.id).await, 3);
    let remove = RemoveRole {
        id: r.id,
        key: "r".into(),
    };
    w.run(&editor(), &remove).await.unwrap();
    assert_eq!(version(&w, p.id).await, 4);
    assert!(matches!(
        w.run(&editor(), &remove).await,
        Err(AppError::NotFound { .. })
    ));
    assert_eq!(
        events(&w).await,
        ["createPersona", "addRole", "updateRole", "removeRole"]
    );
}

#[tokio::test]
async fn a_link_is_a_change_to_the_persona_it_starts_from_and_never_points_back() {
    let w = writer().await;
    let from = w.run(&editor(), &create("cto", &[])).await.unwrap();
    let to = w.run(&editor(), &create("dev", &[])).await.unwrap();
    let link = |to: &str| LinkPersonas {
        from: "cto".into(),
        to: to.into(),
        kind: PersonaLinkKind::Influences,
        note: None,
        provenance: Provenance::Editor,
    };
    let err = w.run(&editor(), &link("cto")).await.unwrap_err();
    assert!(
        matches!(&err, AppError::BadInput { field, .. } if field == "to"),
        "{err:?}"
    );
    let row = w.run(&editor(), &link("dev")).await.unwrap();
    assert_eq!(
        (version(&w, from.id).await, version(&w, to.id).await),
        (2, 1)
    );
    let unlink = UnlinkPersonas {
        id: row.id,
        key: "l".into(),
    };
    w.run(&editor(), &unlink).await.unwrap();
    assert_eq!(
        (version(&w, from.id).await, version(&w, to.id).await),
        (3, 1)
    );
    assert!(
        persona_link::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_changes_nothing() {
    let w = writer().await;
    let p = w.run(&editor(), &create("cto", &[])).await.unwrap();
    let rename = |v: i32| UpdatePersona {
        slug: "cto".into(),
        expected_version: v,
        name: Some(Name::parse("name", "Chief").unwrap()),
        kind: None,
        status: None,
        summary: Some(None),
        description: None,
        pain_points: None,
        motivations: None,
        pain_intensity: None,
        pain_intensity_note: None,
        value_prop_scope: None,
        sort_order: None,
        source_url: None,
    };
    let row = w.run(&editor(), &rename(1)).await.unwrap();
    assert_eq!((row.name.as_str(), row.version), ("Chief", 2));
    let err = w.run(&editor(), &rename(1)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "persona cto was changed by someone else (current version 2); reload it and retry"
    );
    assert_eq!(version(&w, p.id).await, 2);
    assert_eq!(events(&w).await, ["createPersona", "updatePersona"]);
}

#[tokio::test]
async fn deleting_a_persona_removes_the_links_about_it() {
    let w = writer().await;
    let p = w.run(&editor(), &create("cto", &["CTO"])).await.unwrap();
    let doc = AddExternalLink {
        subject: LinkSubject {
            kind: SubjectType::Persona,
            id: p.id,
        },
        subject_key: "cto".into(),
        label: Name::parse("label", "Deck").unwrap(),
        url: Url::parse("url", "https://example.com/deck").unwrap(),
        kind: LinkKind::Slides,
        access: LinkAccess::Internal,
    };
    w.run(&editor(), &doc).await.unwrap();
    let gone = w
        .run(&editor(), &DeletePersona { slug: "cto".into() })
        .await
        .unwrap();
    assert_eq!(gone.id, p.id);
    assert!(
        external_link::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        role_row::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    let history = audit_event::Entity::find().all(w.db()).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, "deletePersona");
    assert_eq!(last.before.as_ref().unwrap()["roles"][0]["title"], "CTO");
}

#[tokio::test]
async fn deleting_a_persona_advances_the_teams_aligned_to_it_and_the_personas_linking_to_it() {
    use crate::domain::alignment::AlignTeamToPersona;
    use crate::domain::team::CreateTeam;
    use entity::enums::{AlignmentLevel, Department, Provenance};
    let w = writer().await;
    let cto = w.run(&editor(), &create("cto", &[])).await.unwrap();
    let vp = w.run(&editor(), &create("vp", &[])).await.unwrap();
    let team = w
        .run(
            &editor(),
            &CreateTeam {
                slug: Slug::parse("slug", "pm").unwrap(),
                name: Name::parse("name", "PM").unwrap(),
                department: Department::Product,
                description: None,
            },
        )
        .await
        .unwrap();
    let align = AlignTeamToPersona {
        team: "pm".into(),
        persona: "cto".into(),
        level: AlignmentLevel::Primary,
        motion: None,
        provenance: Provenance::Editor,
    };
    w.run(&editor(), &align).await.unwrap();
    let link = LinkPersonas {
        from: "vp".into(),
        to: "cto".into(),
        kind: PersonaLinkKind::Influences,
        note: None,
        provenance: Provenance::Editor,
    };
    w.run(&editor(), &link).await.unwrap();
    let team_version = |w: &Writer| {
        let db = w.db().clone();
        async move {
            entity::team::Entity::find_by_id(team.id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .version
        }
    };
    assert_eq!((team_version(&w).await, version(&w, vp.id).await), (2, 2));
    w.run(&editor(), &DeletePersona { slug: "cto".into() })
        .await
        .unwrap();
    // Each lost a part (an alignment, a link) to the cascade: one new version each.
    assert_eq!((team_version(&w).await, version(&w, vp.id).await), (3, 3));
    assert!(
        persona_link::Entity::find()
            .all(w.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(cto.version, 1);
}
