//! The test harness: a throwaway PostgreSQL cluster per test (initdb once into a cached
//! template, copied and started on a free port with its socket in a temp folder; run as the
//! `postgres` user when the tests run as root), a pgbackup home, and fault-injection shims.

pub mod http;
pub mod s3;

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The folder with initdb, pg_ctl and postgres: `PG_BINDIR`, else the newest
/// /usr/lib/postgresql/*/bin, else PATH.
fn server_bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let version = d.file_name().to_str()?.parse().ok()?;
            let bin = d.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_default()
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of the unprivileged user that runs the server when tests run as root.
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("tests run as root need a `postgres` user to run the server (install postgresql)");
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().unwrap(), fields[3].parse().unwrap()))
}

fn as_server_user(command: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = server_user() {
        command.uid(uid).gid(gid);
    }
    command
}

fn chown_to_server_user(path: &Path) {
    if let Some((uid, gid)) = server_user() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

fn run_checked(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// An initdb'd data folder, made once and shared by every test process.
fn template() -> PathBuf {
    // In the system temp folder, not the checkout: the server user must be able to reach
    // it, and a checkout may sit in a folder only its owner can enter.
    // SAFETY: geteuid(2) has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let version = server_bindir().display().to_string().replace('/', "_");
    let root = std::env::temp_dir().join(format!("pgbackup-test-template-{uid}{version}"));
    fs::create_dir_all(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let lock = File::create(root.join(".lock")).unwrap();
    lock.lock().unwrap();
    let data = root.join("data");
    if !root.join("READY").exists() {
        let _ = fs::remove_dir_all(&data);
        fs::create_dir(&data).unwrap();
        chown_to_server_user(&data);
        run_checked(as_server_user(
            Command::new(server_bindir().join("initdb"))
                .args(["-D"])
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .current_dir("/"),
        ));
        File::create(root.join("READY")).unwrap();
    }
    data
}

/// A running throwaway cluster, stopped and removed on drop.
pub struct Cluster {
    dir: TempDir,
    pub port: u16,
}

impl Cluster {
    pub fn start() -> Cluster {
        let template = template();
        let dir = tempfile::Builder::new()
            .prefix("pgbackup-pg-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        chown_to_server_user(dir.path());
        run_checked(
            Command::new("cp")
                .arg("-a")
                .arg(&template)
                .arg(dir.path().join("data")),
        );
        let port = free_port();
        let cluster = Cluster { dir, port };
        cluster.pg_ctl_start();
        cluster
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses='' -c fsync=off -c full_page_writes=off",
            self.port,
            self.socket_dir().display()
        );
        run_checked(as_server_user(
            Command::new(server_bindir().join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-o", &options, "-l"])
                .arg(self.dir.path().join("server.log"))
                .args(["-w", "start"])
                .current_dir("/"),
        ));
    }

    /// Stops the server at once, as a crash or an outage would.
    pub fn stop(&self) {
        let _ = as_server_user(
            Command::new(server_bindir().join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .current_dir("/"),
        )
        .output();
    }

    /// libpq variables that point a client at this cluster.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", self.socket_dir().display().to_string()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", "postgres".to_string()),
        ]
    }

    /// Runs SQL with psql in `db`, returning unaligned tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let output = run_checked(Command::new("psql").envs(self.env()).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

impl Cluster {
    /// Runs an SQL file with psql in `db`, stopping at the first error.
    pub fn psql_file(&self, db: &str, path: &Path) {
        run_checked(
            Command::new("psql")
                .envs(self.env())
                .args([
                    "-X",
                    "-q",
                    "-o",
                    "/dev/null",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    db,
                    "-f",
                ])
                .arg(path),
        );
    }

    /// `pg_dump` of `db` in UTC, without the random `\restrict` lines of newer versions.
    pub fn dump(&self, db: &str) -> String {
        let output = run_checked(
            Command::new("pg_dump")
                .envs(self.env())
                .env("PGTZ", "UTC")
                .arg(db),
        );
        without_restrict_lines(output.stdout)
    }

    /// `pg_dump ARGS db` (e.g. `-t table`), as [`Cluster::dump`] cleans it.
    pub fn dump_with(&self, db: &str, args: &[&str]) -> String {
        let output = run_checked(
            Command::new("pg_dump")
                .envs(self.env())
                .env("PGTZ", "UTC")
                .args(args)
                .arg(db),
        );
        without_restrict_lines(output.stdout)
    }

    /// `pg_dumpall ARGS` of the whole cluster in UTC, without the `\restrict` lines.
    pub fn dumpall(&self, args: &[&str]) -> String {
        let output = run_checked(
            Command::new("pg_dumpall")
                .envs(self.env())
                .env("PGTZ", "UTC")
                .args(args),
        );
        without_restrict_lines(output.stdout)
    }

    /// The names of all databases, sorted.
    pub fn databases(&self) -> Vec<String> {
        let names = self.psql(
            "postgres",
            "SELECT datname FROM pg_database ORDER BY datname",
        );
        names.lines().map(str::to_string).collect()
    }

    /// What pgbackup records as the database-level properties of `db`.
    pub fn properties(&self, db: &str) -> Value {
        let sql = format!(
            "SELECT {} FROM pg_database d WHERE d.datname = '{db}'",
            pgbackup::pg::postgres::PROPERTIES_JSON
        );
        serde_json::from_str(&self.psql("postgres", &sql)).unwrap()
    }

    /// A new empty folder `name` in the cluster's temp folder, owned by the server's user
    /// (for CREATE TABLESPACE ... LOCATION).
    pub fn server_owned_dir(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::create_dir(&path).unwrap();
        chown_to_server_user(&path);
        path
    }

    /// Adds a superuser `role` that must log in with `password` (scram-sha-256).
    pub fn require_password(&self, role: &str, password: &str) {
        self.psql(
            "postgres",
            &format!("CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"),
        );
        let hba = self.dir.path().join("data/pg_hba.conf");
        let rules = fs::read_to_string(&hba).unwrap();
        fs::write(&hba, format!("local all {role} scram-sha-256\n{rules}")).unwrap();
        self.psql("postgres", "SELECT pg_reload_conf()");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A cluster with a database `app` holding a little data, and an empty pgbackup home.
pub struct Env {
    pub cluster: Cluster,
    root: TempDir,
    shims: TempDir,
}

impl Env {
    pub fn new() -> Env {
        let cluster = Cluster::start();
        cluster.psql("postgres", "CREATE DATABASE app");
        cluster.psql(
            "app",
            "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
             INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 1000) g;",
        );
        Env {
            cluster,
            root: tempfile::Builder::new()
                .prefix("pgbackup-home-")
                .tempdir()
                .unwrap(),
            shims: tempfile::Builder::new()
                .prefix("pgbackup-shims-")
                .tempdir()
                .unwrap(),
        }
    }

    /// The real binary with this environment: cluster, home, database `app`, shims first on PATH.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pgbackup"));
        let path = format!(
            "{}:{}",
            self.shims.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.envs(self.cluster.env())
            .env("PGDATABASE", "app")
            .env("PGBACKUP_HOME", self.home())
            .env("PATH", path)
            .env_remove("PGPASSWORD")
            .env_remove("DATABASE_URL")
            .env_remove("PGSERVICE")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// The same as an assert_cmd command.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command())
    }

    /// The environment pgbackup runs with, for commands built around it.
    pub fn vars(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        self.command()
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .collect()
    }

    /// Runs pgbackup with `args` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// pgbackup's home; it does not exist until pgbackup makes it.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.home().join("backups")
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.backups_dir().join("backup_metadata.json")
    }

    /// The catalog's entries as JSON.
    pub fn entries(&self) -> Vec<Value> {
        match fs::read_to_string(self.catalog_path()) {
            Ok(text) => match serde_json::from_str::<Value>(&text).unwrap() {
                Value::Array(entries) => entries,
                catalog => catalog["backups"].as_array().unwrap().clone(),
            },
            Err(_) => Vec::new(),
        }
    }

    /// Names in the backups folder (hidden ones included, the lock file and the metadata
    /// files beside backups excluded: see `metadata_files`).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_files()
            .into_iter()
            .filter(|n| n != ".lock" && !n.ends_with(".meta.json"))
            .collect();
        names.sort();
        names
    }

    /// The metadata files beside backups (`<backup file>.meta.json`).
    pub fn metadata_files(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_files()
            .into_iter()
            .filter(|n| n.ends_with(".meta.json"))
            .collect();
        names.sort();
        names
    }

    fn all_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.backups_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Creates a backup and returns its catalog entry.
    pub fn create(&self, args: &[&str]) -> Value {
        let mut all = vec!["create", "--json"];
        all.extend_from_slice(args);
        let output = self.run(&all);
        assert!(
            output.status.success(),
            "create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Runs pgbackup on a pseudo-terminal (util-linux `script`), typing `typed` after a
    /// pause; returns the exit status and everything the terminal showed.
    pub fn run_on_terminal(
        &self,
        args: &str,
        extra_env: &[(&str, &str)],
        typed: &str,
    ) -> (Option<i32>, String) {
        let mut typist = Command::new("sh")
            .args(["-c", "sleep 2; printf '%s\\n' \"$1\"", "sh", typed])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let bin = assert_cmd::cargo::cargo_bin("pgbackup");
        let output = Command::new("script")
            .args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
            .envs(self.vars())
            .envs(extra_env.iter().copied())
            .stdin(typist.stdout.take().unwrap())
            .output()
            .expect("script (util-linux) runs");
        let _ = typist.wait();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// Runs pgbackup on a pseudo-terminal `columns` wide (set with `stty` before pgbackup
    /// starts), typing `typed` after a pause; the exit status and what the terminal showed.
    pub fn run_on_terminal_of_width(
        &self,
        columns: u16,
        args: &str,
        extra_env: &[(&str, &str)],
        typed: &str,
    ) -> (Option<i32>, String) {
        let bin = assert_cmd::cargo::cargo_bin("pgbackup");
        let sized = format!(
            "stty cols {columns} rows 50 2>/dev/null; exec {}",
            bin.display()
        );
        self.run_on_terminal_as(&sized, args, extra_env, typed)
    }

    fn run_on_terminal_as(
        &self,
        program: &str,
        args: &str,
        extra_env: &[(&str, &str)],
        typed: &str,
    ) -> (Option<i32>, String) {
        let mut typist = Command::new("sh")
            .args(["-c", "sleep 2; printf '%s\\n' \"$1\"", "sh", typed])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let output = Command::new("script")
            .args(["-qec", &format!("{program} {args}"), "/dev/null"])
            .envs(self.vars())
            .envs(extra_env.iter().copied())
            .stdin(typist.stdout.take().unwrap())
            .output()
            .expect("script (util-linux) runs");
        let _ = typist.wait();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// A fake pg_dump first on PATH: `--version` goes to the real one, a dump runs `body`.
    pub fn shim_pg_dump(&self, body: &str) {
        let real = real_pg_dump();
        self.shim(
            "pg_dump",
            &format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {real} --version; fi\n{body}\n"
            ),
        );
    }

    /// Puts shims for pg_dump, pg_restore and psql first on PATH that append, for every
    /// run, one line with the child's own command line (read from /proc/PID/cmdline) and
    /// the names of its environment variables to the returned file, then run the real
    /// program: `argv: ARGS | env: NAMES`.
    pub fn record_children(&self) -> PathBuf {
        let record = self.shims.path().join("children.log");
        for name in ["pg_dump", "pg_restore", "psql"] {
            let real = real_program(name);
            self.shim(
                name,
                &format!(
                    "#!/bin/sh\nargv=$(tr '\\000' ' ' < /proc/$$/cmdline)\n\
                     names=$(env | cut -d= -f1 | tr '\\n' ' ')\n\
                     printf 'argv: %s| env: %s\\n' \"$argv\" \"$names\" >> '{}'\n\
                     exec {real} \"$@\"\n",
                    record.display()
                ),
            );
        }
        record
    }

    /// Writes an executable script named `name` first on pgbackup's PATH.
    pub fn shim(&self, name: &str, script: &str) {
        let path = self.shims.path().join(name);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Where the real pg_dump is, for shims that wrap it.
pub fn real_pg_dump() -> String {
    real_program("pg_dump")
}

/// Where the real `name` (psql, pg_restore...) is, for shims that wrap it.
pub fn real_program(name: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", "command -v \"$0\"", name])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Fails the test with the exit code, stdout and stderr unless `output` is a success.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

/// pg_dump's output as text, without the random `\restrict` / `\unrestrict` lines of
/// newer versions.
fn without_restrict_lines(stdout: Vec<u8>) -> String {
    String::from_utf8(stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A file of `tests/it/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

/// The ID of a catalog entry as `--json` prints it.
pub fn id(entry: &Value) -> &str {
    entry["id"].as_str().unwrap()
}

/// An age key made by age-keygen in `dir` (mode 0600): its file and its public key.
pub fn age_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    assert_success(
        &Command::new("age-keygen")
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap(),
    );
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&public);
    (
        path,
        String::from_utf8(public.stdout).unwrap().trim().to_string(),
    )
}
