//! A throwaway S3 server for tests: `s3s-fs` serving a temp folder on a free loopback port
//! with its own random access key and secret, one bucket made, killed on drop.

use std::fs::{self, File};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// `s3s-fs` from PATH, else from ~/.cargo/bin where `scripts/test.sh` installs it.
fn s3s_fs() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("s3s-fs"))
        .find(|candidate| candidate.is_file());
    let home = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    on_path
        .or(home.filter(|p| p.is_file()))
        .expect("s3s-fs is not installed: run scripts/test.sh, or `cargo install s3s-fs@0.14.1 --features binary --locked`")
}

/// Random hex from the kernel, for keys no other test shares.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running s3s-fs with one bucket, killed on drop.
pub struct S3Server {
    child: Option<Child>,
    dir: TempDir,
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("pgbackup-s3-")
            .tempdir()
            .unwrap();
        let bucket = "pgbackup-test".to_string();
        // s3s-fs keeps each bucket as a folder of its root.
        fs::create_dir(dir.path().join("data")).unwrap();
        fs::create_dir(dir.path().join("data").join(&bucket)).unwrap();
        let port = super::free_port();
        let (access_key, secret_key) = (format!("AK{}", random_hex(8)), random_hex(20));
        let mut server = S3Server {
            child: None,
            dir,
            port,
            access_key,
            secret_key,
            bucket,
        };
        server.restart();
        server
    }

    /// Starts the server (again, after [`S3Server::kill`]) on the same port and folder.
    pub fn restart(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("s3s-fs.log"))
            .unwrap();
        let child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", &self.access_key])
            .args(["--secret-key", &self.secret_key])
            .arg(self.dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        self.wait_until_answering();
    }

    fn wait_until_answering(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not answer on port {}: {}",
                self.port,
                fs::read_to_string(self.dir.path().join("s3s-fs.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The AWS variables that point a client at this server.
    pub fn vars(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://BUCKET/PREFIX` of this server's bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The folder that holds the bucket's objects, to look behind the server's back.
    pub fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join("data").join(&self.bucket)
    }

    /// Every file under the bucket folder, relative to it.
    pub fn files(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.bucket_dir(), &self.bucket_dir(), &mut files);
        files.sort();
        files
    }

    /// What the server keeps of multipart uploads not yet completed or aborted (s3s-fs
    /// holds their records and parts in its root folder, beside the buckets).
    pub fn open_uploads(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path().join("data"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".upload"))
            .collect();
        names.sort();
        names
    }

    /// Stops the server at once, as a crash or an outage would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}
