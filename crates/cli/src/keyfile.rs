//! Key files: a secret key, its salt and the identity they make, as JSON.

use nvm_identity::{SecretKey, id_com_from_credential};
use nvm_primitives::{IdCom, SchemeId};
use serde_json::{Value, json};
use std::path::Path;

/// A signing key, the salt its identity was (or will be) created with, and — once the key was
/// rotated in — the identity it now acts for.
pub struct KeyFile {
    pub key: SecretKey,
    pub salt: [u8; 32],
    /// Set when this key replaced an identity's first credential (the id_com no longer derives
    /// from this key and salt).
    pub rotated_into: Option<IdCom>,
}

impl KeyFile {
    pub fn new(key: SecretKey, salt: [u8; 32]) -> Self {
        Self { key, salt, rotated_into: None }
    }

    pub fn id_com(&self) -> IdCom {
        self.rotated_into.unwrap_or_else(|| {
            id_com_from_credential(self.key.scheme(), &self.key.public_key(), &self.salt)
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scheme": self.key.scheme().name(),
            "secret": format!("0x{}", hex::encode(self.key.secret_bytes())),
            "public_key": format!("0x{}", hex::encode(self.key.public_key())),
            "salt": format!("0x{}", hex::encode(self.salt)),
            "id_com": format!("0x{}", hex::encode(self.id_com())),
        })
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("key file {} is not JSON: {e}", path.display()))?;
        let field = |name: &str| {
            value[name]
                .as_str()
                .ok_or_else(|| format!("key file {} has no {name:?}", path.display()))
        };
        let scheme = SchemeId::from_name(field("scheme")?)
            .ok_or_else(|| format!("unknown scheme in {}", path.display()))?;
        let secret = hex::decode(field("secret")?.trim_start_matches("0x"))
            .map_err(|e| format!("bad secret: {e}"))?;
        let salt_bytes = hex::decode(field("salt")?.trim_start_matches("0x"))
            .map_err(|e| format!("bad salt: {e}"))?;
        let salt = salt_bytes.try_into().map_err(|_| "salt must be 32 bytes".to_string())?;
        let key = SecretKey::from_secret(scheme, &secret).map_err(|e| e.to_string())?;
        let mut file = Self::new(key, salt);
        if let Some(text) = value["id_com"].as_str() {
            let bytes = hex::decode(text.trim_start_matches("0x"))
                .map_err(|e| format!("bad id_com: {e}"))?;
            let id: IdCom = bytes.try_into().map_err(|_| "id_com must be 32 bytes".to_string())?;
            if id != file.id_com() {
                file.rotated_into = Some(id);
            }
        }
        Ok(file)
    }

    /// Writes the key file readable by its owner only; `replace` allows overwriting.
    pub fn save(&self, path: &Path, replace: bool) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(|e| e.to_string())?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).truncate(true);
        if replace {
            options.create(true)
        } else {
            options.create_new(true)
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!(
                    "{} already exists: give another file, or --force to replace it",
                    path.display()
                )
            }
            _ => format!("cannot create {}: {e}", path.display()),
        })?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| e.to_string())
    }
}
