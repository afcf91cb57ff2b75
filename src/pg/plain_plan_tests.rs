use std::io::Write;

use super::{Planner, SessionState, with_tables};

const SCRIPT: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\n\
SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\
SET default_tablespace = '';\n\n\
--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\n\
CREATE TABLE public.t (\n    a text\n);\n\n\
--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: app\n--\n\n\
COPY public.t (a) FROM stdin;\n--\n-- Name: x; Type: INDEX; Schema: public; Owner: app\n\\.\n\n\
--\n-- Name: s; Type: SEQUENCE SET; Schema: public; Owner: app\n--\n\n\
SELECT pg_catalog.setval('public.s', 3, true);\n\n\
SET default_tablespace = fast;\n\n\
--\n-- Name: t_a; Type: INDEX; Schema: public; Owner: app; Tablespace: fast\n--\n\n\
CREATE INDEX t_a ON ONLY public.t USING btree (a);\n\n\
--\n-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: app\n--\n\n\
ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (a);\n\n\
--\n-- Name: f; Type: FUNCTION; Schema: public; Owner: app\n--\n\n\
CREATE FUNCTION public.f() RETURNS int AS $$\n--\n-- Name: y; Type: INDEX\n--\nSELECT 1$$ LANGUAGE sql;\n\n\
\\unrestrict abc\n";

fn plan(text: &str, chunk: usize) -> Result<super::PlainPlan, String> {
    let mut planner = Planner::default();
    for piece in text.as_bytes().chunks(chunk) {
        planner.write_all(piece).unwrap();
    }
    planner.finish().map(with_tables)
}

#[test]
fn entries_cover_the_script_with_their_types_tables_and_settings() {
    for chunk in [1, 7, 100_000] {
        let plan = plan(SCRIPT, chunk).unwrap();
        let kinds: Vec<&str> = plan.entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "TABLE",
                "TABLE DATA",
                "SEQUENCE SET",
                "INDEX",
                "CONSTRAINT",
                "FUNCTION"
            ],
            "chunks of {chunk}"
        );
        assert_eq!(plan.data, 1..3);
        assert_eq!(plan.post_data(), 3..6);
        let preamble = &SCRIPT[..plan.preamble().end as usize];
        assert!(preamble.ends_with("SET default_tablespace = '';\n\n"));
        let data = &plan.entries[1];
        assert_eq!(data.table.as_deref(), Some("public.t"));
        assert!(SCRIPT[data.range.start as usize..data.range.end as usize].ends_with("\\.\n\n"));
        assert_eq!(plan.entries[3].table.as_deref(), Some("public.t"));
        assert_eq!(plan.entries[4].table.as_deref(), Some("public.t"));
        let fast = SessionState {
            tablespace: Some("SET default_tablespace = fast;".into()),
            access_method: None,
        };
        assert_eq!(plan.entries[3].state, fast);
        assert_eq!(plan.entries[2].state_after, fast);
        assert_eq!(
            plan.entries[1].state.tablespace.as_deref(),
            Some("SET default_tablespace = '';")
        );
        assert_eq!(plan.total, SCRIPT.len() as u64);
    }
}

#[test]
fn a_session_is_moved_to_an_entrys_settings() {
    let empty = SessionState::default();
    let fast = SessionState {
        tablespace: Some("SET default_tablespace = fast;".into()),
        access_method: Some("SET default_table_access_method = heap;".into()),
    };
    assert_eq!(
        empty.change_to(&fast),
        "SET default_tablespace = fast;\nSET default_table_access_method = heap;\n"
    );
    assert_eq!(
        fast.change_to(&empty),
        "RESET default_tablespace;\nRESET default_table_access_method;\n"
    );
    assert_eq!(fast.change_to(&fast), "");
}

#[test]
fn what_the_plan_does_not_understand_is_refused_with_the_reason() {
    let connect = SCRIPT.replace("SET default_tablespace = fast;\n", "\\connect other\n");
    assert_eq!(
        plan(&connect, 64).unwrap_err(),
        "the script holds a psql meta-command (\\connect)"
    );
    let role = SCRIPT.replace(
        "SET default_tablespace = fast;\n",
        "SET SESSION AUTHORIZATION bob;\n",
    );
    assert!(plan(&role, 64).unwrap_err().contains("changes a setting"));
    let header = SCRIPT.replace("SET statement_timeout = 0;", "CREATE TABLE x (a int);");
    assert!(plan(&header, 64).unwrap_err().contains("header"));
    let no_data = "SET a = 1;\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\nCREATE TABLE t ();\n";
    assert_eq!(
        plan(no_data, 64).unwrap_err(),
        "the script holds no table data"
    );
}

#[test]
fn the_header_and_small_entries_are_kept_as_the_script_has_them() {
    for chunk in [1, 5, 64, 100_000] {
        let plan = plan(SCRIPT, chunk).unwrap();
        let text = |range: &std::ops::Range<u64>| {
            let parts = plan.kept(range).expect("kept");
            String::from_utf8(parts.concat()).unwrap()
        };
        assert_eq!(
            text(&plan.preamble()),
            SCRIPT[..plan.preamble().end as usize]
        );
        assert_eq!(
            text(&plan.pre_data()),
            SCRIPT[..plan.pre_data().end as usize]
        );
        for entry in &plan.entries {
            let (start, end) = (entry.range.start as usize, entry.range.end as usize);
            assert_eq!(text(&entry.range), SCRIPT[start..end], "chunks of {chunk}");
        }
        let all = plan.entries[0].range.start..plan.total;
        assert_eq!(
            text(&all),
            SCRIPT[all.start as usize..],
            "chunks of {chunk}"
        );
    }
}

#[test]
fn a_large_entry_is_read_again_and_the_entries_after_it_are_kept() {
    let rows = "0123456789abcdef\n".repeat(300_000);
    let script = SCRIPT.replace(
        "COPY public.t (a) FROM stdin;\n",
        &format!("COPY public.t (a) FROM stdin;\n{rows}"),
    );
    for chunk in [4096, 256 * 1024] {
        let plan = plan(&script, chunk).unwrap();
        assert!(
            plan.kept(&plan.entries[1].range).is_none(),
            "the table data is too large"
        );
        assert!(plan.kept(&plan.pre_data()).is_some());
        for entry in &plan.entries[2..] {
            let parts = plan.kept(&entry.range).expect("kept");
            let (start, end) = (entry.range.start as usize, entry.range.end as usize);
            assert_eq!(
                parts.concat(),
                script.as_bytes()[start..end],
                "chunks of {chunk}"
            );
        }
    }
}
