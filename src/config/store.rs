//! Reading and changing `config.yaml` safely.
//!
//! Every change is a read-modify-write under an exclusive lock on a sibling
//! `config.yaml.lock`, written to a temp file in the same directory, fsynced and renamed
//! over the original. Readers need no lock: a rename is atomic, so they see the old or
//! the new file, never half of one. A file that does not parse is never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::model::{CONFIG_VERSION, Config};
use super::validate;

/// The environment variable that overrides the config path.
pub const CONFIG_ENV: &str = "LLM_GATEWAY_CONFIG";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot find a home directory; pass --config PATH or set {CONFIG_ENV}")]
    NoHome,
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{path}{location}: {message}\n  The file was left untouched. Fix it by hand \
         (`llm-gateway config validate` checks it), or move it aside to start afresh: \
         mv {path} {path}.bak"
    )]
    Parse {
        path: PathBuf,
        location: String,
        message: String,
    },
    #[error(
        "{path} has version {found}, newer than this build understands ({CONFIG_VERSION}); \
         upgrade llm-gateway"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("{path} is invalid:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// Where the config lives, and the only way to change it.
#[derive(Clone, Debug)]
pub struct ConfigStore {
    path: PathBuf,
}

/// Proof that the exclusive lock is held; writing requires one.
pub struct ConfigLock {
    _file: File,
}

impl ConfigStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigStore { path: path.into() }
    }

    /// `--config PATH`, else `LLM_GATEWAY_CONFIG`, else `~/.llm-gateway/config.yaml`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(p) = explicit {
            return Ok(Self::new(p));
        }
        if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
            return Ok(Self::new(PathBuf::from(p)));
        }
        let base = directories::BaseDirs::new().ok_or(ConfigError::NoHome)?;
        Ok(Self::new(
            base.home_dir().join(".llm-gateway").join("config.yaml"),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "config.yaml".into());
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// The directory holding the config file (and `usage.db`).
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// Read and validate the config. A missing file is the default config.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => self.parse(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Whether the file exists yet.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Parse and validate text as this store's file.
    pub fn parse(&self, text: &str) -> Result<Config, ConfigError> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let location = e
                    .location()
                    .map(|l| format!(" line {} column {}", l.line(), l.column()))
                    .unwrap_or_default();
                ConfigError::Parse {
                    path: self.path.clone(),
                    location,
                    message: strip_location(&e.to_string()),
                }
            })?
        };
        if config.version > CONFIG_VERSION {
            return Err(ConfigError::Version {
                path: self.path.clone(),
                found: config.version,
            });
        }
        let problems = validate::problems(&config);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: self.path.clone(),
                problems,
            });
        }
        Ok(config)
    }

    /// Take the exclusive lock, creating the directory (0700) when needed.
    pub fn lock(&self) -> Result<ConfigLock, ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        create_private_dir(self.dir()).map_err(write_err)?;
        let file = open_private(&self.lock_path()).map_err(write_err)?;
        file.lock().map_err(write_err)?;
        Ok(ConfigLock { _file: file })
    }

    /// Read-modify-write under the lock. `change` sees the current file; when it
    /// returns `Ok`, the result is validated and written atomically. When it returns
    /// `Err`, nothing is written.
    pub fn update<T, E>(&self, change: impl FnOnce(&mut Config) -> Result<T, E>) -> Result<T, E>
    where
        E: From<ConfigError>,
    {
        let lock = self.lock()?;
        let mut config = self.load()?;
        let out = change(&mut config)?;
        config.version = CONFIG_VERSION;
        let problems = validate::problems(&config);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: self.path.clone(),
                problems,
            }
            .into());
        }
        self.write(&config, &lock)?;
        Ok(out)
    }

    /// Write the whole file atomically. Requires the lock.
    pub fn write(&self, config: &Config, _lock: &ConfigLock) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let text = serde_yaml::to_string(config)
            .map_err(|e| write_err(io::Error::other(e.to_string())))?;
        write_private(&self.path, &[HEADER.as_bytes(), text.as_bytes()].concat()).map_err(write_err)
    }
}

/// Replace `path` with `bytes` atomically: a 0600 temp file in the same directory,
/// fsynced, renamed over the old one, and the rename made durable. Readers see the
/// old file or the new one, never half of one.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".llm-gateway.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    set_private(tmp.as_file())?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

const HEADER: &str = "# llm-gateway state. Edit with the `llm-gateway` CLI; hand edits are \
allowed while no CLI command runs.\n";

/// serde_yaml appends " at line X column Y" to its messages; we print our own.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn open_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(unix)]
fn set_private(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ConfigStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = ConfigStore::new(dir.path().join("sub").join("config.yaml"));
        (dir, s)
    }

    #[test]
    fn missing_file_is_default() {
        let (_d, s) = store();
        assert_eq!(s.load().unwrap(), Config::default());
    }

    #[test]
    fn round_trip_default_and_changes() {
        let (_d, s) = store();
        s.update(|c| {
            c.server.port = 4000;
            Ok::<_, ConfigError>(())
        })
        .unwrap();
        let c = s.load().unwrap();
        assert_eq!(c.server.port, 4000);
        let text = fs::read_to_string(s.path()).unwrap();
        assert_eq!(s.parse(&text).unwrap(), c);
    }

    #[test]
    fn prices_round_trip_and_refuse_unknown_fields() {
        let (_d, s) = store();
        let price = crate::config::PriceOverride {
            input: 3.0,
            output: 15.0,
            cache_read: Some(0.3),
            cache_write: None,
        };
        s.update(|c| {
            c.prices.insert("claude-sonnet-4-5".into(), price);
            Ok::<_, ConfigError>(())
        })
        .unwrap();
        let text = fs::read_to_string(s.path()).unwrap();
        assert!(
            text.contains("prices:\n  claude-sonnet-4-5:\n    input: 3.0\n"),
            "{text}"
        );
        assert!(!text.contains("cache_write"), "{text}");
        let c = s.parse(&text).unwrap();
        assert_eq!(c.prices.get("claude-sonnet-4-5"), Some(&price));
        assert_eq!(c, s.load().unwrap());
        let err = s
            .parse("version: 1\nprices:\n  m:\n    input: 1\n    output: 2\n    cached: 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("cached"), "{err}");
        let err = s
            .parse("version: 1\nprices:\n  m:\n    input: -1\n    output: 2\n")
            .unwrap_err();
        assert!(err.to_string().contains("prices.m.input"), "{err}");
    }

    #[test]
    fn usage_section_round_trips_and_defaults() {
        let (_d, s) = store();
        assert_eq!(s.parse("version: 1\n").unwrap().usage.retention_days, 90);
        s.update(|c| {
            c.usage.retention_days = 30;
            Ok::<_, ConfigError>(())
        })
        .unwrap();
        let text = fs::read_to_string(s.path()).unwrap();
        assert!(text.contains("retention_days: 30"), "{text}");
        assert_eq!(s.parse(&text).unwrap().usage.retention_days, 30);
        let err = s
            .parse("version: 1\nusage:\n  retention: 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention"), "{err}");
        let err = s
            .parse("version: 1\nusage:\n  retention_days: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("usage.retention_days"), "{err}");
    }

    #[test]
    fn unknown_field_names_line() {
        let (_d, s) = store();
        let err = s.parse("version: 1\nserver:\n  prot: 1\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("prot"), "{msg}");
    }

    #[test]
    fn newer_version_refused() {
        let (_d, s) = store();
        let err = s.parse("version: 99\n").unwrap_err();
        assert!(matches!(err, ConfigError::Version { found: 99, .. }));
    }

    #[test]
    fn failed_change_writes_nothing() {
        let (_d, s) = store();
        let r: Result<(), ConfigError> = s.update(|c| {
            c.server.port = 1;
            Err(ConfigError::NoHome)
        });
        assert!(r.is_err());
        assert!(!s.exists());
    }

    #[cfg(unix)]
    #[test]
    fn private_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, s) = store();
        s.update(|_| Ok::<_, ConfigError>(())).unwrap();
        let f = fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
        let d = fs::metadata(s.path().parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!((f, d), (0o600, 0o700));
    }
}
