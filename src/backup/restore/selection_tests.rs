use super::{Needed, Qualified, readings, resolve};
use crate::pg::listing::parse_listing;

/// `pg_restore --list --verbose` of a database with a serial table, an identity table
/// referencing it, a partitioned table, a schema in a publication and a view.
const LISTING: &str = "\
3410; 0 0 ENCODING - ENCODING \n\
3411; 0 0 STDSTRINGS - STDSTRINGS \n\
3412; 0 0 SEARCHPATH - SEARCHPATH \n\
3413; 1262 16384 DATABASE - app postgres\n\
6; 2615 16385 SCHEMA - s postgres\n\
224; 1255 16412 FUNCTION public trg() postgres\n\
216; 1259 16387 TABLE public items postgres\n\
3414; 0 0 COMMENT public TABLE items postgres\n\
;\tdepends on: 216\n\
3415; 0 0 COMMENT public COLUMN items.name postgres\n\
;\tdepends on: 216\n\
3416; 0 0 ACL public TABLE items postgres\n\
;\tdepends on: 216\n\
215; 1259 16386 SEQUENCE public items_id_seq postgres\n\
;\tdepends on: 216\n\
3417; 0 0 SEQUENCE OWNED BY public items_id_seq postgres\n\
;\tdepends on: 215\n\
220; 1259 16420 TABLE public m postgres\n\
221; 1259 16425 TABLE public m_1 postgres\n\
;\tdepends on: 220\n\
222; 1259 16430 TABLE public m_2 postgres\n\
;\tdepends on: 220\n\
218; 1259 16400 TABLE public orders postgres\n\
217; 1259 16399 SEQUENCE public orders_id_seq postgres\n\
;\tdepends on: 218\n\
223; 1259 16442 VIEW public v postgres\n\
;\tdepends on: 218 218 218\n\
219; 1259 16415 TABLE s items postgres\n\
;\tdepends on: 6\n\
3224; 0 0 TABLE ATTACH public m_1 postgres\n\
;\tdepends on: 221 220\n\
3225; 0 0 TABLE ATTACH public m_2 postgres\n\
;\tdepends on: 222 220\n\
3226; 2604 16390 DEFAULT public items id postgres\n\
;\tdepends on: 215 216 216\n\
3402; 0 16387 TABLE DATA public items postgres\n\
;\tdepends on: 216\n\
3406; 0 16425 TABLE DATA public m_1 postgres\n\
;\tdepends on: 221\n\
3407; 0 16430 TABLE DATA public m_2 postgres\n\
;\tdepends on: 222\n\
3404; 0 16400 TABLE DATA public orders postgres\n\
;\tdepends on: 218\n\
3405; 0 16415 TABLE DATA s items postgres\n\
;\tdepends on: 219\n\
3418; 0 0 SEQUENCE SET public items_id_seq postgres\n\
;\tdepends on: 215\n\
3419; 0 0 SEQUENCE SET public orders_id_seq postgres\n\
;\tdepends on: 217\n\
3229; 2606 16397 CONSTRAINT public items items_name_key postgres\n\
;\tdepends on: 216\n\
3231; 2606 16395 CONSTRAINT public items items_pkey postgres\n\
;\tdepends on: 216\n\
3239; 2606 16424 CONSTRAINT public m m_pkey postgres\n\
;\tdepends on: 220 220\n\
3242; 2606 16429 CONSTRAINT public m_1 m_1_pkey postgres\n\
;\tdepends on: 221 221 221 3239\n\
3245; 2606 16434 CONSTRAINT public m_2 m_2_pkey postgres\n\
;\tdepends on: 222 222 222 3239\n\
3234; 2606 16406 CONSTRAINT public orders orders_pkey postgres\n\
;\tdepends on: 218\n\
3236; 2606 16419 CONSTRAINT s items items_pkey postgres\n\
;\tdepends on: 219\n\
3232; 1259 16398 INDEX public items_price postgres\n\
;\tdepends on: 216\n\
3237; 1259 16435 INDEX public m_idx postgres\n\
;\tdepends on: 220\n\
3240; 1259 16436 INDEX public m_1_id_idx postgres\n\
;\tdepends on: 221 3237 221\n\
3243; 1259 16437 INDEX public m_2_id_idx postgres\n\
;\tdepends on: 222 222 3237\n\
3246; 0 0 INDEX ATTACH public m_1_id_idx postgres\n\
;\tdepends on: 3240 3237 221 220\n\
3247; 0 0 INDEX ATTACH public m_1_pkey postgres\n\
;\tdepends on: 221 3242 3239 3239 221 220\n\
3248; 0 0 INDEX ATTACH public m_2_id_idx postgres\n\
;\tdepends on: 3243 3237 222 220\n\
3249; 0 0 INDEX ATTACH public m_2_pkey postgres\n\
;\tdepends on: 3239 3245 222 3239 222 220\n\
3251; 2620 16413 TRIGGER public items items_t postgres\n\
;\tdepends on: 224 216\n\
3250; 2606 16407 FK CONSTRAINT public orders orders_item_fkey postgres\n\
;\tdepends on: 218 3231 216\n\
3395; 0 16387 ROW SECURITY public items postgres\n\
;\tdepends on: 216\n\
3396; 3256 16414 POLICY public items p1 postgres\n\
;\tdepends on: 216\n\
3397; 6104 16438 PUBLICATION - pub postgres\n\
3398; 6104 16440 PUBLICATION - pubt postgres\n\
3399; 6106 16441 PUBLICATION TABLE public pubt items postgres\n\
;\tdepends on: 216 3398\n\
3400; 6237 16439 PUBLICATION TABLES IN SCHEMA s pub s postgres\n\
;\tdepends on: 6 3397\n\
";

fn ids(tables: &[&str], schemas: &[&str]) -> Vec<(u32, Needed)> {
    let entries = parse_listing(LISTING);
    let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let schemas: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    resolve(&entries, &tables, &schemas).unwrap().entries
}

fn always(ids: &[u32]) -> Vec<(u32, Needed)> {
    ids.iter().map(|id| (*id, Needed::Always)).collect()
}

fn q(schema: &str, name: &str) -> Qualified {
    Qualified {
        schema: schema.to_string(),
        name: name.to_string(),
    }
}

#[test]
fn lines_are_split_into_kind_schema_and_tag() {
    let entries = parse_listing(LISTING);
    let find = |id: u32| entries.iter().find(|e| e.id == id).unwrap();
    assert_eq!(find(3410).kind, "ENCODING");
    assert_eq!(find(3410).tag, "ENCODING");
    assert_eq!(find(3417).kind, "SEQUENCE OWNED BY");
    assert_eq!(find(3399).kind, "PUBLICATION TABLE");
    assert_eq!(find(3399).tag, "pubt items");
    assert_eq!(find(3400).kind, "PUBLICATION TABLES IN SCHEMA");
    assert_eq!(find(3400).schema, "s");
    assert_eq!(find(3415).tag, "COLUMN items.name");
    assert_eq!(find(3247).deps, vec![221, 3242, 3239, 3239, 221, 220]);
    let spaced = parse_listing(
        "6; 2615 16385 SCHEMA - my schema app\n\
         215; 1259 16390 TABLE my schema my table app\n\
         216; 1259 16391 TABLE my_schema t app\n",
    );
    assert_eq!(spaced[0].tag, "my schema");
    assert_eq!(
        (spaced[1].schema.as_str(), spaced[1].tag.as_str()),
        ("my schema", "my table")
    );
    assert_eq!(
        (spaced[2].schema.as_str(), spaced[2].tag.as_str()),
        ("my_schema", "t")
    );
}

#[test]
fn a_table_comes_with_everything_that_hangs_off_it() {
    // Not the FK of orders that references items, nor the publication membership; the
    // trigger's function only where it is missing, in a new database.
    let mut items = vec![(224, Needed::NewDatabase)];
    items.extend(always(&[
        216, 3414, 3415, 215, 3417, 3226, 3402, 3418, 3229, 3231, 3232, 3251, 3395, 3396,
    ]));
    assert_eq!(ids(&["public.items"], &[]), items);
    // Its grants come last, after its privileges are reset.
    let entries = parse_listing(LISTING);
    let chosen = resolve(&entries, &["public.items".to_string()], &[]).unwrap();
    assert_eq!(chosen.acls, vec![3416]);
    assert_eq!(
        chosen.relations,
        vec![
            ("TABLE", q("public", "items")),
            ("SEQUENCE", q("public", "items_id_seq"))
        ]
    );
    // The identity sequence, the FK that orders owns; not the view on it.
    assert_eq!(
        ids(&["orders"], &[]),
        always(&[218, 217, 3404, 3419, 3234, 3250])
    );
    let entries = parse_listing(LISTING);
    let orders = resolve(&entries, &["orders".to_string()], &[]).unwrap();
    assert_eq!(
        orders.references,
        vec![(
            q("public", "orders"),
            "orders_item_fkey".to_string(),
            q("public", "items")
        )]
    );
    let both = ["orders".to_string(), "public.items".to_string()];
    assert!(resolve(&entries, &both, &[]).unwrap().references.is_empty());
}

#[test]
fn a_partition_is_attached_after_its_own_indexes() {
    let entries = parse_listing(LISTING);
    let chosen = resolve(&entries, &["m_1".to_string()], &[]).unwrap();
    assert_eq!(
        chosen.entries,
        always(&[221, 3406, 3242, 3240, 3224, 3246, 3247])
    );
    assert_eq!(
        chosen.attached,
        vec![(q("public", "m_1"), q("public", "m"))]
    );
    assert_eq!(chosen.dropped, vec![q("public", "m_1")]);
}

#[test]
fn a_partitioned_table_comes_with_its_partitions_in_the_archives_order() {
    let entries = parse_listing(LISTING);
    let chosen = resolve(&entries, &["public.m".to_string()], &[]).unwrap();
    assert_eq!(
        chosen.entries,
        always(&[
            220, 221, 222, 3224, 3225, 3406, 3407, 3239, 3242, 3245, 3237, 3240, 3243, 3246, 3247,
            3248, 3249
        ])
    );
    assert!(chosen.attached.is_empty());
    assert_eq!(
        chosen.dropped,
        vec![q("public", "m"), q("public", "m_1"), q("public", "m_2")]
    );
}

#[test]
fn a_schema_brings_its_create_schema_and_publication_membership_when_needed() {
    assert_eq!(
        ids(&[], &["s"]),
        vec![
            (6, Needed::SchemaMissing("s".to_string())),
            (219, Needed::Always),
            (3405, Needed::Always),
            (3236, Needed::Always),
            (
                3400,
                Needed::SchemaPublication {
                    schema: "s".to_string(),
                    publication: "pub".to_string()
                }
            ),
        ]
    );
    // A table in schema s brings the CREATE SCHEMA too.
    assert_eq!(
        ids(&["s.items"], &[])[0],
        (6, Needed::SchemaMissing("s".to_string()))
    );
}

#[test]
fn names_are_resolved_with_or_without_their_schema() {
    let entries = parse_listing(LISTING);
    let resolve_one = |name: &str| resolve(&entries, &[name.to_string()], &[]);
    let message = |name: &str| format!("{:#}", resolve_one(name).unwrap_err());
    assert!(message("items").contains("ambiguous: the backup has public.items and s.items"));
    assert_eq!(
        resolve_one("s.items").unwrap().dropped,
        vec![q("s", "items")]
    );
    assert_eq!(
        resolve_one("\"s\".\"items\"").unwrap().dropped,
        vec![q("s", "items")]
    );
    assert_eq!(
        resolve_one("public.items").unwrap().dropped,
        vec![q("public", "items")]
    );
    assert!(message("nosuch").contains("--table \"nosuch\" matches no table in the backup"));
    assert!(message("public.v").contains("public.v is a view"));
    assert!(message("x.orders").contains("matches no table"));
    let schema = resolve(&entries, &[], &["nosuch".to_string()]).unwrap_err();
    assert!(format!("{schema:#}").contains("--schema \"nosuch\" matches nothing"));
    assert!(crate::exit::code_for(&schema) == crate::exit::USAGE);
}

#[test]
fn quoted_names_may_hold_dots_and_quotes() {
    assert_eq!(readings("t"), vec![(None, "t".to_string())]);
    assert_eq!(
        readings("a.b"),
        vec![
            (None, "a.b".to_string()),
            (Some("a".to_string()), "b".to_string())
        ]
    );
    assert_eq!(
        readings("\"My S\".\"a.\"\"b\""),
        vec![(Some("My S".to_string()), "a.\"b".to_string())]
    );
    assert_eq!(readings("\"a.b\""), vec![(None, "a.b".to_string())]);
    assert!(readings("\"unclosed").is_empty());
}

#[test]
fn a_rule_on_a_view_is_not_part_of_the_table_its_action_writes_to() {
    let listing = "\
        220; 1259 16500 TABLE public audit_log app\n\
        221; 1259 16501 VIEW public big_orders app\n\
        3300; 2618 16502 RULE public big_orders log_big app\n\
        ;\tdepends on: 221 220\n\
        3301; 2618 16503 RULE public audit_log no_delete app\n\
        ;\tdepends on: 220\n";
    let entries = parse_listing(listing);
    let chosen = resolve(&entries, &["audit_log".to_string()], &[]).unwrap();
    assert_eq!(chosen.entries, always(&[220, 3301]));
}
