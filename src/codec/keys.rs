//! age keys read from their files: the identities that decrypt a backup, the recipients
//! that encrypt one (public keys, or a passphrase for age's scrypt mode). Secrets never
//! appear in messages; key files others can read are warned about.

use std::fmt;
use std::fs;
use std::io::{self, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use age::secrecy::SecretString;
use anyhow::{Context, Result, anyhow, bail};

type Identity = Box<dyn age::Identity + Send + Sync>;
type Recipient = Box<dyn age::Recipient + Send + Sync>;

/// The identities that may decrypt a backup; none when no key was given.
#[derive(Clone, Default)]
pub struct Identities {
    list: Arc<Vec<Identity>>,
}

impl Identities {
    /// Every identity in `files` (age identity files or unencrypted SSH private keys),
    /// then the passphrase's.
    pub fn read(files: &[impl AsRef<Path>], passphrase: Option<&SecretString>) -> Result<Self> {
        let mut list: Vec<Identity> = Vec::new();
        for file in files {
            list.extend(read_identity_file(file.as_ref())?);
        }
        if let Some(passphrase) = passphrase {
            list.push(Box::new(age::scrypt::Identity::new(passphrase.clone())));
        }
        Ok(Identities {
            list: Arc::new(list),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.list
            .iter()
            .map(|identity| identity.as_ref() as &dyn age::Identity)
    }
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identities({} keys)", self.list.len())
    }
}

/// Who can decrypt a new backup.
#[derive(Clone)]
pub enum Recipients {
    /// Public keys (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`), with their text for the catalog.
    Keys {
        list: Arc<Vec<Recipient>>,
        public: Vec<String>,
    },
    /// age's scrypt mode.
    Passphrase(SecretString),
}

impl Recipients {
    /// The recipients named on the command line or in the schedule, and those in the
    /// recipients files; `None` when there are none at all.
    pub fn parse(keys: &[String], files: &[impl AsRef<Path>]) -> Result<Option<Recipients>> {
        let mut list = Vec::new();
        let mut public = Vec::new();
        for key in keys {
            list.push(parse_recipient(key).with_context(|| format!("recipient {key:?}"))?);
            public.push(key.trim().to_string());
        }
        for file in files {
            let file = file.as_ref();
            let text = fs::read_to_string(file)
                .with_context(|| format!("could not read recipients file {}", file.display()))?;
            let lines = text
                .lines()
                .enumerate()
                .map(|(n, line)| (n + 1, line.trim()));
            for (number, line) in lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('#')) {
                list.push(parse_recipient(line).with_context(|| {
                    format!("recipients file {} line {number}", file.display())
                })?);
                public.push(line.to_string());
            }
            if public.is_empty() {
                bail!("recipients file {} names no recipient", file.display());
            }
        }
        Ok((!list.is_empty()).then(|| Recipients::Keys {
            list: Arc::new(list),
            public,
        }))
    }

    /// The public keys, for the catalog; empty for a passphrase.
    pub fn public(&self) -> &[String] {
        match self {
            Recipients::Keys { public, .. } => public,
            Recipients::Passphrase(_) => &[],
        }
    }

    pub fn is_passphrase(&self) -> bool {
        matches!(self, Recipients::Passphrase(_))
    }

    pub(super) fn encryptor(&self) -> io::Result<age::Encryptor> {
        match self {
            Recipients::Passphrase(passphrase) => {
                Ok(age::Encryptor::with_user_passphrase(passphrase.clone()))
            }
            Recipients::Keys { list, .. } => age::Encryptor::with_recipients(
                list.iter().map(|r| r.as_ref() as &dyn age::Recipient),
            )
            .map_err(|err| io::Error::other(format!("cannot encrypt to these recipients: {err}"))),
        }
    }
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipients::Keys { public, .. } => write!(f, "Recipients({public:?})"),
            Recipients::Passphrase(_) => f.write_str("Recipients(passphrase)"),
        }
    }
}

/// The first line of a passphrase file.
pub fn read_passphrase(path: &Path) -> Result<SecretString> {
    warn_if_loose(path, "passphrase file");
    let text = fs::read_to_string(path)
        .with_context(|| format!("could not read passphrase file {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("passphrase file {} is empty", path.display());
    }
    Ok(SecretString::from(line.to_string()))
}

fn parse_recipient(text: &str) -> Result<Recipient> {
    let text = text.trim();
    if text.starts_with("ssh-") {
        return age::ssh::Recipient::from_str(text)
            .map(|r| Box::new(r) as Recipient)
            .map_err(|err| anyhow!("is not an SSH public key age supports ({err:?})"));
    }
    age::x25519::Recipient::from_str(text)
        .map(|r| Box::new(r) as Recipient)
        .map_err(|_| anyhow!("is not an age public key (age1…) or an SSH public key"))
}

fn read_identity_file(path: &Path) -> Result<Vec<Identity>> {
    warn_if_loose(path, "identity file");
    let what = || format!("could not read identity file {}", path.display());
    let bytes = fs::read(path).with_context(what)?;
    if bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
        || bytes.starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
    {
        return match age::ssh::Identity::from_buffer(BufReader::new(&bytes[..]), None)
            .with_context(what)?
        {
            age::ssh::Identity::Unencrypted(key) => {
                Ok(vec![Box::new(age::ssh::Identity::Unencrypted(key))])
            }
            age::ssh::Identity::Encrypted(_) => bail!(
                "identity file {} is a passphrase-protected SSH key, which pgbackup cannot \
                 unlock; use an age identity (age-keygen) or an unprotected key",
                path.display()
            ),
            age::ssh::Identity::Unsupported(_) => {
                bail!(
                    "identity file {} is an SSH key age does not support",
                    path.display()
                )
            }
        };
    }
    let identities = age::IdentityFile::from_buffer(BufReader::new(&bytes[..]))
        .with_context(what)?
        .into_identities()
        .map_err(|err| anyhow!("{err}"))
        .with_context(what)?;
    if identities.is_empty() {
        bail!("identity file {} holds no identity", path.display());
    }
    Ok(identities)
}

/// A key file the group or others can read is worth a warning, not a refusal.
fn warn_if_loose(path: &Path, what: &str) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "{what} {} can be read by other users (mode {:o}): chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
}
