//! Fresh SoftHSM2 tokens for tests and for the harness's SoftHSM backend: [`SoftHsmLab`]
//! creates N tokens in a directory of its own (label, random serial, SO and user PIN set,
//! domain keys installed) and hands back one [`Pkcs11Member`] per token.
//!
//! Layout ([`Layout::PerMember`], the default): every member gets its own copy of the module
//! file (`<dir>/<label>/libsofthsm2-<label>.so`, in a directory that allows executing it) and
//! its own token directory (on tmpfs, `/dev/shm`, when available: token writes are ~3x faster
//! there), so a real re-initialise of one member leaves the others running. Each member
//! directory also holds a `softhsm2.conf` for outside tools (`SOFTHSM2_CONF=... pkcs11-tool
//! --module ...`). [`Layout::Shared`] puts every token in one instance of the module, like a
//! Luna client library, where a restart only closes the member's sessions.
//!
//! The process must have been started with `SOFTHSM2_CONF` naming a file hasim may write (see
//! [`crate::library`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cryptoki::session::UserType;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::error::SetupError;
use crate::library::{Library, TokenSelector};
use crate::member::{Attachment, Pkcs11Member, auth_pin};
use crate::templates::{self, DOMAIN_MAC_ID, DOMAIN_WRAP_ID};

/// Where the Debian package installs the module, and other usual places.
pub const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 module: `HASIM_SOFTHSM_MODULE` when set, else the first of
/// [`MODULE_CANDIDATES`] that exists.
pub fn find_module() -> Result<PathBuf, SetupError> {
    if let Some(p) = std::env::var_os("HASIM_SOFTHSM_MODULE") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(SetupError::SoftHsmMissing(p.display().to_string()))
        };
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| SetupError::SoftHsmMissing(MODULE_CANDIDATES.join(", ")))
}

/// How the tokens share module instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One module copy and token directory per member.
    PerMember,
    /// One module instance and token directory for all members.
    Shared,
}

/// What to create.
#[derive(Debug)]
pub struct LabSpec {
    /// The directory to create the lab in (module copies must be executable there).
    pub parent: PathBuf,
    /// One token per label.
    pub labels: Vec<String>,
    /// The SO PIN of every token.
    pub so_pin: SecretString,
    /// The user (Crypto Officer) PIN of every token without one of its own in `user_pins`.
    pub user_pin: SecretString,
    /// Per-token user PINs, by position in `labels` (missing entries use `user_pin`).
    pub user_pins: Vec<Option<SecretString>>,
    /// Per-token cloning domains, by position in `labels`: tokens with the same name share
    /// domain keys (missing entries are all one domain).
    pub domains: Vec<String>,
    /// The module to copy; [`find_module`] when `None`.
    pub module: Option<PathBuf>,
    /// Put the token directories on `/dev/shm` when it is there.
    pub tmpfs: bool,
    /// Module instances.
    pub layout: Layout,
}

impl LabSpec {
    /// A per-member lab of tokens `labels` in `parent`, tokens on tmpfs.
    pub fn new(parent: impl Into<PathBuf>, labels: &[&str], so_pin: &str, user_pin: &str) -> Self {
        LabSpec {
            parent: parent.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            so_pin: SecretString::from(so_pin),
            user_pin: SecretString::from(user_pin),
            user_pins: Vec::new(),
            domains: Vec::new(),
            module: None,
            tmpfs: true,
            layout: Layout::PerMember,
        }
    }
}

/// One token of a lab, as outside tools find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabToken {
    /// Token label.
    pub label: String,
    /// Token serial (chosen by SoftHSM).
    pub serial: String,
    /// The module file that serves it.
    pub module: PathBuf,
    /// A SoftHSM configuration naming its token directory.
    pub conf: PathBuf,
    /// Its token directory.
    pub token_dir: PathBuf,
}

/// Tokens created for one run; removed on drop unless [`SoftHsmLab::keep`] was called.
#[derive(Debug)]
pub struct SoftHsmLab {
    dir: PathBuf,
    token_root: PathBuf,
    tokens: Vec<LabToken>,
    keep: bool,
}

static LAB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh directory `<parent>/<prefix>-<pid>-<n>`.
fn fresh_dir(parent: &Path, prefix: &str) -> Result<PathBuf, SetupError> {
    std::fs::create_dir_all(parent).map_err(|e| SetupError::io(parent, e))?;
    loop {
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{prefix}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SetupError::io(dir, e)),
        }
    }
}

fn conf_text(token_dir: &Path) -> String {
    format!(
        "{}\ndirectories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ALL\nlibrary.reset_on_fork = false\n",
        crate::library::CONF_MARKER,
        token_dir.display()
    )
}

impl LabSpec {
    /// The user PIN of token `i`.
    pub fn pin_of(&self, i: usize) -> &SecretString {
        self.user_pins
            .get(i)
            .and_then(Option::as_ref)
            .unwrap_or(&self.user_pin)
    }
}

impl SoftHsmLab {
    /// Creates the tokens of `spec`, all in one cloning domain, and a member for each (in the
    /// order of `spec.labels`), each holding the user PIN as its credential.
    pub fn create(spec: &LabSpec) -> Result<(SoftHsmLab, Vec<Pkcs11Member>), SetupError> {
        let module = match &spec.module {
            Some(m) => m.clone(),
            None => find_module()?,
        };
        let module = std::fs::canonicalize(&module).map_err(|e| SetupError::io(&module, e))?;
        let dir = fresh_dir(&spec.parent, "hasim-softhsm")?;
        let shm = Path::new("/dev/shm");
        let token_root = if spec.tmpfs && shm.is_dir() {
            fresh_dir(shm, "hasim-tokens")?
        } else {
            let t = dir.join("tokens");
            std::fs::create_dir(&t).map_err(|e| SetupError::io(&t, e))?;
            t
        };
        let mut lab = SoftHsmLab {
            dir,
            token_root,
            tokens: Vec::new(),
            keep: false,
        };
        let mut libs: Vec<Arc<Library>> = Vec::new();
        let mut shared: Option<Arc<Library>> = None;
        for (i, label) in spec.labels.iter().enumerate() {
            let (lib, token) = match spec.layout {
                Layout::PerMember => {
                    let own = lab.instance(&module, label)?;
                    (Arc::new(own.0), own.1)
                }
                Layout::Shared => {
                    if shared.is_none() {
                        let (lib, _) = lab.instance(&module, "shared")?;
                        shared = Some(Arc::new(lib));
                    }
                    let lib = shared.clone().ok_or(SetupError::ConfUnset)?;
                    let tok = lab.shared_token(&lib, label)?;
                    (lib, tok)
                }
            };
            let serial = init_token(&lib, label, &spec.so_pin, spec.pin_of(i))?;
            lab.tokens.push(LabToken { serial, ..token });
            libs.push(lib);
        }
        let pins: Vec<&SecretString> = (0..spec.labels.len()).map(|i| spec.pin_of(i)).collect();
        // One set of domain keys per cloning domain.
        let mut domains: Vec<&str> = (0..spec.labels.len())
            .map(|i| spec.domains.get(i).map_or("", String::as_str))
            .collect();
        let names = domains.clone();
        domains.sort_unstable();
        domains.dedup();
        for domain in domains {
            let (mut l, mut t, mut p) = (Vec::new(), Vec::new(), Vec::new());
            for (i, name) in names.iter().enumerate() {
                if *name == domain {
                    l.push(libs[i].clone());
                    t.push(lab.tokens[i].clone());
                    p.push(pins[i]);
                }
            }
            install_domain_keys(&l, &t, &p)?;
        }
        let mut members = Vec::new();
        for (i, (lib, token)) in libs.into_iter().zip(&lab.tokens).enumerate() {
            let attachment = match (spec.layout, Arc::try_unwrap(lib)) {
                (Layout::PerMember, Ok(own)) => Attachment::Exclusive(own),
                (_, Ok(own)) => Attachment::Shared(Arc::new(own)),
                (_, Err(shared)) => Attachment::Shared(shared),
            };
            members.push(Pkcs11Member::open(
                attachment,
                &TokenSelector::Serial(token.serial.clone()),
                Some(spec.pin_of(i).clone()),
            )?);
        }
        tracing::debug!(dir = %lab.dir.display(), tokens = lab.tokens.len(), "SoftHSM lab created");
        Ok((lab, members))
    }

    /// A module copy and token directory named `name`, loaded and initialised.
    fn instance(&self, module: &Path, name: &str) -> Result<(Library, LabToken), SetupError> {
        let member_dir = self.dir.join(name);
        std::fs::create_dir(&member_dir).map_err(|e| SetupError::io(&member_dir, e))?;
        let copy = member_dir.join(format!("libsofthsm2-{name}.so"));
        std::fs::copy(module, &copy).map_err(|e| SetupError::io(&copy, e))?;
        let token_dir = self.token_root.join(name);
        std::fs::create_dir(&token_dir).map_err(|e| SetupError::io(&token_dir, e))?;
        let text = conf_text(&token_dir);
        let conf = member_dir.join("softhsm2.conf");
        std::fs::write(&conf, &text).map_err(|e| SetupError::io(&conf, e))?;
        let lib = Library::load_softhsm_instance(&copy, &text)?;
        let token = LabToken {
            label: name.to_string(),
            serial: String::new(),
            module: copy,
            conf,
            token_dir,
        };
        Ok((lib, token))
    }

    fn shared_token(&self, lib: &Library, label: &str) -> Result<LabToken, SetupError> {
        let base = self.dir.join("shared");
        Ok(LabToken {
            label: label.to_string(),
            serial: String::new(),
            module: lib.path().to_path_buf(),
            conf: base.join("softhsm2.conf"),
            token_dir: self.token_root.join("shared"),
        })
    }

    /// Another client of token `index` of a per-member lab: a module instance of its own
    /// (a further copy of the module file, `<dir>/<label>/libsofthsm2-<label>-<instance>.so`)
    /// over the same token directory, as another process on the same machine would open it.
    /// Its sessions and login are its own; token objects are shared through the token
    /// directory.
    pub fn open_instance(
        &self,
        index: usize,
        instance: &str,
        credential: Option<SecretString>,
    ) -> Result<Pkcs11Member, SetupError> {
        let token = self
            .tokens
            .get(index)
            .ok_or_else(|| SetupError::TokenNotFound(format!("lab token #{index}")))?;
        let member_dir = self.dir.join(&token.label);
        let copy = member_dir.join(format!("libsofthsm2-{}-{instance}.so", token.label));
        std::fs::copy(&token.module, &copy).map_err(|e| SetupError::io(&copy, e))?;
        let lib = Library::load_softhsm_instance(&copy, &conf_text(&token.token_dir))?;
        Pkcs11Member::open(
            Attachment::Exclusive(lib),
            &TokenSelector::Serial(token.serial.clone()),
            credential,
        )
    }

    /// The tokens, in creation order.
    pub fn tokens(&self) -> &[LabToken] {
        &self.tokens
    }

    /// The lab's directory (module copies and configuration files).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps the files after the lab is dropped (for inspection).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for SoftHsmLab {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.token_root);
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Initialises the free slot's token as `label`, sets the user PIN, and returns its serial.
fn init_token(
    lib: &Library,
    label: &str,
    so_pin: &SecretString,
    user_pin: &SecretString,
) -> Result<String, SetupError> {
    let ctx = lib.ctx();
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| SetupError::call("C_GetSlotList", &e))?;
    let mut free = None;
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| SetupError::call("C_GetTokenInfo", &e))?;
        if !info.token_initialized() {
            free = Some(slot);
            break;
        }
    }
    let free = free.ok_or_else(|| SetupError::TokenNotFound("an uninitialised token".into()))?;
    ctx.init_token(free, &auth_pin(so_pin), label)
        .map_err(|e| SetupError::call("C_InitToken", &e))?;
    // SoftHSM moves a re-initialised token to a new slot id: find it by label.
    let (slot, info) = lib.find_token(&TokenSelector::Label(label.to_string()))?;
    let s = ctx
        .open_rw_session_no_drop(slot)
        .map_err(|e| SetupError::call("C_OpenSession", &e))?;
    let r = s
        .login(UserType::So, Some(&auth_pin(so_pin)))
        .map_err(|e| SetupError::call("C_Login", &e))
        .and_then(|()| {
            s.init_pin(&auth_pin(user_pin))
                .map_err(|e| SetupError::call("C_InitPIN", &e))
        })
        .and_then(|()| s.logout().map_err(|e| SetupError::call("C_Logout", &e)));
    let closed = s.close();
    r?;
    closed.map_err(|e| SetupError::call("C_CloseSession", &e))?;
    Ok(info.serial_number().trim_end().to_string())
}

/// Puts the same domain wrapping key and MAC key (fresh random values from the first token's
/// generator, never written anywhere else) on every token.
fn install_domain_keys(
    libs: &[Arc<Library>],
    tokens: &[LabToken],
    user_pins: &[&SecretString],
) -> Result<(), SetupError> {
    let Some(first) = libs.first() else {
        return Ok(());
    };
    let (slot0, _) = first.find_token(&TokenSelector::Serial(tokens[0].serial.clone()))?;
    let s = first
        .ctx()
        .open_ro_session_no_drop(slot0)
        .map_err(|e| SetupError::call("C_OpenSession", &e))?;
    let random = s.generate_random_vec(64);
    let _ = s.close();
    let value: SecretSlice<u8> =
        SecretSlice::from(random.map_err(|e| SetupError::call("C_GenerateRandom", &e))?);
    for ((lib, token), user_pin) in libs.iter().zip(tokens).zip(user_pins) {
        let (slot, _) = lib.find_token(&TokenSelector::Serial(token.serial.clone()))?;
        let s = lib
            .ctx()
            .open_rw_session_no_drop(slot)
            .map_err(|e| SetupError::call("C_OpenSession", &e))?;
        let v = value.expose_secret();
        let r = s
            .login(UserType::User, Some(&auth_pin(user_pin)))
            .map_err(|e| SetupError::call("C_Login", &e))
            .and_then(|()| {
                s.create_object(&templates::domain_key(DOMAIN_WRAP_ID, &v[..32], true))
                    .map_err(|e| SetupError::call("C_CreateObject", &e))
            })
            .and_then(|_| {
                s.create_object(&templates::domain_key(DOMAIN_MAC_ID, &v[32..], false))
                    .map_err(|e| SetupError::call("C_CreateObject", &e))
            })
            .and_then(|_| s.logout().map_err(|e| SetupError::call("C_Logout", &e)));
        let _ = s.close();
        r?;
    }
    Ok(())
}
