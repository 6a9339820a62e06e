//! Global IDs: every object's `id` refetches it through `node(id:)`.

use crate::helpers::TestApp;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Collects `(id, __typename)` of every object in a response.
fn collect(v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(id)), Some(Value::String(t))) =
                (map.get("id"), map.get("__typename"))
            {
                out.insert(id.clone(), t.clone());
            }
            map.values().for_each(|x| collect(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_id_in_a_deep_read_refetches_the_same_object_through_node() {
    let app = TestApp::seeded().await;
    let deep = app
        .data(
            r"{ personas(first: 10) { nodes { id __typename
                 roles { id __typename }
                 links { id __typename to { id __typename } }
                 productRelevance { id __typename product { id __typename } }
                 alignedTeams { id __typename }
                 externalLinks { id __typename }
                 journeys { id __typename stages { id __typename
                   owners { id __typename team { id __typename members { id __typename person { id __typename } } } } } } } } }",
            json!({}),
        )
        .await;
    let mut ids = BTreeMap::new();
    collect(&deep, &mut ids);
    let types: std::collections::BTreeSet<_> = ids.values().cloned().collect();
    for t in [
        "Persona",
        "Role",
        "PersonaLink",
        "ProductRelevance",
        "Product",
        "TeamAlignment",
        "ExternalLink",
        "Journey",
        "Stage",
        "StageOwnership",
        "Team",
        "TeamMember",
        "Person",
    ] {
        assert!(
            types.contains(t),
            "the seed catalog read has no {t}: {types:?}"
        );
    }
    for (id, typename) in &ids {
        let node = app
            .data(
                "query($id: ID!) { node(id: $id) { id __typename } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(node["node"], json!({ "id": id, "__typename": typename }));
    }
}
