//! The gateway's state: one YAML file under the home directory.
//!
//! - [`model`]: the typed sections of the file;
//! - [`validate`]: the one place that checks a whole config for consistency;
//! - [`store`]: where the file lives, how it is read, and how it is changed (under an
//!   exclusive lock, through a temp file that is fsynced and renamed).

pub mod model;
pub mod store;
pub mod validate;

pub use model::*;
pub use store::{ConfigError, ConfigStore};
