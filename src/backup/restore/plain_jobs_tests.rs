use std::io::Write;

use super::{Piece, group, session, sessions};
use crate::pg::plain_plan::{self, PlainPlan, Planner};

fn entry(kind: &str, name: &str, body: &str) -> String {
    let data = if kind.ends_with("DATA") {
        "Data for "
    } else {
        ""
    };
    format!("--\n-- {data}Name: {name}; Type: {kind}; Schema: public; Owner: app\n--\n\n{body}\n\n")
}

fn plan() -> (String, PlainPlan) {
    let rows = |n: usize| "1\n".repeat(n);
    let script = [
        "SET statement_timeout = 0;\n\n".to_string(),
        entry("TABLE", "a", "CREATE TABLE public.a (n int);"),
        entry(
            "TABLE DATA",
            "a",
            &format!("COPY public.a (n) FROM stdin;\n{}\\.", rows(10)),
        ),
        entry(
            "TABLE DATA",
            "b",
            &format!("COPY public.b (n) FROM stdin;\n{}\\.", rows(100)),
        ),
        entry(
            "TABLE DATA",
            "c",
            &format!("COPY public.c (n) FROM stdin;\n{}\\.", rows(50)),
        ),
        entry(
            "INDEX",
            "a_n",
            "CREATE INDEX a_n ON public.a USING btree (n);",
        ),
        entry(
            "CONSTRAINT",
            "b b_pkey",
            "ALTER TABLE ONLY public.b\n    ADD CONSTRAINT b_pkey PRIMARY KEY (n);",
        ),
        entry(
            "INDEX",
            "b_n",
            "CREATE INDEX b_n ON public.b USING btree (n);",
        ),
    ]
    .concat();
    let mut planner = Planner::default();
    planner.write_all(script.as_bytes()).unwrap();
    (script, plain_plan::with_tables(planner.finish().unwrap()))
}

#[test]
fn the_largest_tables_go_first_to_the_lightest_session_and_a_tables_indexes_stay_together() {
    let (script, plan) = plan();
    let data: Vec<usize> = plan.data.clone().collect();
    let groups = group(&data, &plan.entries, |e| (e.table.clone().unwrap(), 0));
    let spread = sessions(&plan, groups, 2);
    let names: Vec<Vec<&str>> = spread
        .iter()
        .map(|s| s.names.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        names,
        [vec!["TABLE DATA b"], vec!["TABLE DATA a", "TABLE DATA c"]]
    );
    // Each session starts with the header, then only its entries.
    let Piece::Bytes(header) = &spread[1].pieces[0] else {
        panic!("the header comes first")
    };
    assert_eq!(
        &script[header.start as usize..header.end as usize],
        "SET statement_timeout = 0;\n\n"
    );
    assert_eq!(spread[1].pieces.len(), 3, "a and c are not adjacent");

    let post: Vec<usize> = plan.post_data().collect();
    let groups = group(&post, &plan.entries, |e| (e.table.clone().unwrap(), 0));
    let spread = sessions(&plan, groups, 4);
    assert_eq!(spread.len(), 2, "one session per table");
    assert_eq!(spread[0].names, ["CONSTRAINT b b_pkey", "INDEX b_n"]);
    let whole = session(&plan, &post);
    assert_eq!(whole.pieces.len(), 2, "adjacent entries are one range");
}
