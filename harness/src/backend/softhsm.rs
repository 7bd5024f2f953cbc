//! The SoftHSM backend: fresh SoftHSM2 tokens (one per scenario partition, one module copy per
//! member, `pkcs11_member::SoftHsmLab`) bound to the scenario's serials, as the partitions of
//! a `sim::World`. The world's fault injectors wrap every connection, so the model's fault
//! plan applies unchanged; this module does what a fault means for a real token:
//!
//! - `Restore` after a `Drop`: a real re-initialise of the member's own module instance and a
//!   login with its credential (`Pkcs11Member::restore`); LunaCM's instance restarts too (both
//!   connections were lost).
//! - `Deactivate` / `Activate` (D17): the token's login ends on every client (`C_Logout`) and,
//!   until activated, a login is answered `CKR_TOKEN_NOT_RECOGNIZED` (the model's "not
//!   activated") without calling the module.
//! - `LoginFailure` (B49): every later login is answered `CKR_PIN_INCORRECT` by the wrapper,
//!   never by the real `C_Login`, so the token's PIN counter is never touched; `LoginRestore`
//!   lets logins through again.
//!
//! Partition-side faults armed on the nth call go off through the same code (the injector's
//! partition hook).
//!
//! The scenario's other client processes (D45) each get a module instance of their own per
//! token (`process_member`), restarted with LunaCM's at a restore and logged out with the
//! others at a deactivation. `Fingerprints` reads each token's object below the injector
//! (`Pkcs11Member::object_material`, hashed as the model hashes it, [`crate::fingerprint`]).
//!
//! Each member is reached by two clients, as on a Luna client machine: the application's
//! connection and LunaCM's (another module instance over the same token directory: its own
//! sessions and login, D22). Both answer the vendor `properties` extension from the scenario's
//! declaration of the partition and its HSM (firmware, form, authentication, cloning-domain
//! fingerprint), with the activation the faults set; a generic token has no such extension.
//! The serial and label the engine sees are the scenario's; the transcript header shows which
//! token each one is bound to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ha_engine::Ckr;
use ha_engine::ports::{
    CloneBlob, DataObjectRequest, KeyGenRequest, Member, MemberProperties, MemberResult,
    ObjectHandle, ObjectInfo, ObjectQuery, Secret, SessionHandle, TokenInfo,
};
use hsm_model::HsmModel;
use pkcs11_member::{LabSpec, Pkcs11Member, SoftHsmLab};
use secrecy::SecretString;
use sim::fault::Fault;
use sim::fault::injector::PartitionHook;
use sim::model_member::ModelMember;
use sim::partitions::Partitions;
use sim::world::WorldError;

use super::{Built, SoftHsmOptions};
use crate::scenario::Scenario;
use crate::topology::{self, TopologyError, err};

/// The SO PIN of the throwaway tokens (they exist for one run; the SO role is used only to
/// set the user PIN).
const SO_PIN: &str = "hasim-softhsm-so";

/// LunaCM's session numbers start here, so they never meet the application's in the
/// injector's shared session sets.
const LUNACM_SESSION_BASE: SessionHandle = 1 << 32;

/// What the faults did to a partition, shared by its two clients.
#[derive(Debug, Default)]
struct PartitionFlags {
    /// Deactivated (D17): logins are refused as "not activated".
    deactivated: bool,
    /// The CO credential changed (B49): logins are refused as a wrong PIN.
    login_refused: bool,
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Members and flags hold no invariant a panic elsewhere could break half-way.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One client's connection to a real token, as a `Member` with the scenario's serial.
struct RealMember {
    serial: String,
    label: String,
    inner: Shared<Pkcs11Member>,
    flags: Shared<PartitionFlags>,
    properties: Option<MemberProperties>,
}

impl RealMember {
    fn m(&self) -> MutexGuard<'_, Pkcs11Member> {
        lock(&self.inner)
    }
}

impl Member for RealMember {
    fn serial(&self) -> &str {
        &self.serial
    }

    fn label(&self) -> Option<&str> {
        Some(&self.label)
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let mut info = self.m().token_info()?;
        info.serial = self.serial.clone();
        info.label = self.label.clone();
        Ok(info)
    }

    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        self.m().open_session()
    }

    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.m().close_session(session)
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.m().close_all_sessions()
    }

    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        let (deactivated, refused) = {
            let f = lock(&self.flags);
            (f.deactivated, f.login_refused)
        };
        if deactivated || refused {
            // Answered here, in the model's order (session, activation, an existing login,
            // the credential), without calling the real C_Login.
            let logged_in = self.m().is_logged_in(session)?;
            return Err(if deactivated {
                Ckr::CKR_TOKEN_NOT_RECOGNIZED
            } else if logged_in {
                Ckr::CKR_USER_ALREADY_LOGGED_IN
            } else {
                Ckr::CKR_PIN_INCORRECT
            });
        }
        self.m().login(session, pin)
    }

    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.m().logout(session)
    }

    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.m().generate_key(session, request)
    }

    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        self.m().create_data(session, request)
    }

    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.m().find_objects(session, query)
    }

    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        self.m().object_info(session, object)
    }

    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        self.m().destroy_object(session, object)
    }

    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.m().sign(session, key, data)
    }

    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.m().encrypt(session, key, data)
    }

    fn set_value(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        self.m().set_value(session, object, value)
    }

    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        self.m().export_clone(session, object)
    }

    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        self.m().import_clone(session, blob)
    }

    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        self.m().sign_init(session, key)
    }

    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        self.m().sign_update(session, data)
    }

    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        self.m().sign_final(session)
    }

    fn properties(&mut self) -> MemberResult<MemberProperties> {
        let mut p = self
            .properties
            .clone()
            .ok_or(Ckr::CKR_FUNCTION_NOT_SUPPORTED)?;
        p.activated = !lock(&self.flags).deactivated;
        Ok(p)
    }
}

/// One scenario partition bound to a token.
struct Bound {
    /// The token's index in the lab (for another process's module instance).
    index: usize,
    label: String,
    app: Shared<Pkcs11Member>,
    lunacm: Shared<Pkcs11Member>,
    /// The connections of the scenario's other client processes (D45), in process order.
    processes: Shared<Vec<Shared<Pkcs11Member>>>,
    flags: Shared<PartitionFlags>,
    properties: Option<MemberProperties>,
}

impl Bound {
    fn side(&self) -> PartitionSide {
        PartitionSide {
            app: self.app.clone(),
            lunacm: self.lunacm.clone(),
            processes: self.processes.clone(),
            flags: self.flags.clone(),
        }
    }
}

/// What a partition-side fault acts on: the token's clients and its flags.
struct PartitionSide {
    app: Shared<Pkcs11Member>,
    lunacm: Shared<Pkcs11Member>,
    processes: Shared<Vec<Shared<Pkcs11Member>>>,
    flags: Shared<PartitionFlags>,
}

impl PartitionSide {
    /// Applies a partition-side fault; `Ok(false)` when `fault` is not one.
    fn apply(&self, fault: &Fault) -> Result<bool, pkcs11_member::SetupError> {
        match fault {
            Fault::Deactivate => {
                lock(&self.flags).deactivated = true;
                for client in [&self.app, &self.lunacm] {
                    lock(client).end_login()?;
                }
                for client in lock(&self.processes).iter() {
                    lock(client).end_login()?;
                }
            }
            Fault::Activate => lock(&self.flags).deactivated = false,
            Fault::LoginFailure => lock(&self.flags).login_refused = true,
            Fault::LoginRestore => lock(&self.flags).login_refused = false,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The partitions of a SoftHSM world. Owns the lab, so the tokens live as long as the world.
pub struct SoftHsmPartitions {
    bound: BTreeMap<String, Bound>,
    /// Dropped after the members (field order): removes the tokens unless kept. `None` for
    /// tokens hasim did not create (`hasim validate`'s, [`partitions_over_tokens`]); without
    /// it no other process can open a module instance of its own.
    lab: Option<SoftHsmLab>,
}

impl SoftHsmPartitions {
    fn bound(&self, serial: &str) -> Result<&Bound, WorldError> {
        self.bound
            .get(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))
    }

    fn member(&self, serial: &str, lunacm: bool) -> Option<Box<dyn Member>> {
        let b = self.bound.get(serial)?;
        let inner = if lunacm {
            b.lunacm.clone()
        } else {
            b.app.clone()
        };
        Some(b.client(serial, inner))
    }
}

impl Bound {
    /// A client's connection as a `Member` with the scenario's serial and label.
    fn client(&self, serial: &str, inner: Shared<Pkcs11Member>) -> Box<dyn Member> {
        Box::new(RealMember {
            serial: serial.to_string(),
            label: self.label.clone(),
            inner,
            flags: self.flags.clone(),
            properties: self.properties.clone(),
        })
    }
}

fn backend_error(what: &str, serial: &str, e: impl std::fmt::Display) -> WorldError {
    WorldError::Backend(format!("{what} of {serial}: {e}"))
}

impl Partitions for SoftHsmPartitions {
    fn application_member(&mut self, serial: &str) -> Result<Box<dyn Member>, WorldError> {
        self.member(serial, false)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))
    }

    fn lunacm_member(&self, serial: &str) -> Option<Box<dyn Member>> {
        self.member(serial, true)
    }

    /// Another client process's connection (D45): a module instance of its own over the same
    /// token directory (its own sessions and login, as another process on the machine), its
    /// session numbers apart from every other client's.
    fn process_member(&self, serial: &str, process: u32) -> Option<Box<dyn Member>> {
        let b = self.bound.get(serial)?;
        let lab = self.lab.as_ref()?;
        let credential = lock(&b.app).credential().cloned();
        let opened = lab.open_instance(b.index, &format!("process{process}"), credential);
        let mut member = match opened {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(member = %serial, process, error = %e, "another process's module instance");
                return None;
            }
        };
        let slot = SessionHandle::from(process).checked_add(2)?;
        member.set_session_base(slot.checked_mul(LUNACM_SESSION_BASE)?);
        let inner = Arc::new(Mutex::new(member));
        lock(&b.processes).push(inner.clone());
        Some(b.client(serial, inner))
    }

    fn object_fingerprint(&self, serial: &str, label: &str) -> Option<String> {
        let b = self.bound.get(serial)?;
        let o = lock(&b.app).object_material(label).ok()??;
        Some(crate::fingerprint::of(o.class, &o.id, &o.material))
    }

    fn token_info(&self, serial: &str) -> Option<TokenInfo> {
        let b = self.bound.get(serial)?;
        let mut info = lock(&b.app).token_info().ok()?;
        info.serial = serial.to_string();
        info.label = b.label.clone();
        Some(info)
    }

    fn apply_partition_fault(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError> {
        let side = self.bound(serial)?.side();
        match side.apply(fault) {
            Ok(true) => Ok(()),
            Ok(false) => Err(WorldError::Unsupported(
                sim::fault::injector::UnsupportedFault(fault.name()),
            )),
            Err(e) => Err(backend_error(fault.name(), serial, e)),
        }
    }

    fn partition_hook(&self, serial: &str) -> Option<PartitionHook> {
        let side = self.bound.get(serial)?.side();
        let serial = serial.to_string();
        Some(Arc::new(move |fault: &Fault| {
            // An armed fault going off inside a member call: a failure to log a token out
            // shows in the calls that follow; say it in the trace.
            if let Err(e) = side.apply(fault) {
                tracing::warn!(member = %serial, fault = fault.name(), error = %e, "partition fault on a real token");
            }
        }))
    }

    fn transport_fault(
        &mut self,
        serial: &str,
        fault: &Fault,
        after_drop: bool,
    ) -> Result<(), WorldError> {
        if *fault != Fault::Restore || !after_drop {
            return Ok(());
        }
        let b = self.bound(serial)?;
        // The injector has no call in flight (the simulation is between events), so
        // finalising the instances here cannot race a call.
        lock(&b.app)
            .restore()
            .map_err(|e| backend_error("restore", serial, e))?;
        lock(&b.lunacm)
            .restart()
            .map_err(|e| backend_error("restart of LunaCM's connection", serial, e))?;
        for client in lock(&b.processes).iter() {
            lock(client)
                .restart()
                .map_err(|e| backend_error("restart of another process's connection", serial, e))?;
        }
        Ok(())
    }
}

/// The declaration of every partition and its HSM, for the properties extension.
fn declared_model(config: &sim::world::WorldConfig) -> Result<Arc<Mutex<HsmModel>>, TopologyError> {
    let mut declared = HsmModel::new(0);
    for hsm in config.hsms.clone() {
        declared.add_hsm(hsm).map_err(|e| err("hsms", e))?;
    }
    for p in config.partitions.clone() {
        declared
            .add_partition(p)
            .map_err(|e| err("partitions", e))?;
    }
    Ok(Arc::new(Mutex::new(declared)))
}

/// A token hasim did not create, opened by the caller, for one scenario partition (in the
/// scenario's partition order): the application's connection and LunaCM's (with distinct
/// session numbers, see [`Pkcs11Member::set_session_base`] and [`LUNACM_SESSION_BASE`]).
pub struct TokenConnections {
    /// The application's connection.
    pub app: Pkcs11Member,
    /// LunaCM's connection.
    pub lunacm: Pkcs11Member,
}

/// The partitions of a world over tokens hasim did not create (`hasim validate`): scenario
/// partition `i` is bound to `tokens[i]`, whose serial must be the partition's. Nothing is
/// removed afterwards. Returns the partitions and the serials in slot order.
pub fn partitions_over_tokens(
    scenario: &Scenario,
    tokens: Vec<TokenConnections>,
) -> Result<(SoftHsmPartitions, Vec<String>), TopologyError> {
    let config = topology::world_config(scenario)?;
    let declared = declared_model(&config)?;
    if tokens.len() != scenario.partitions.len() {
        return Err(err(
            "partitions",
            format!(
                "{} partitions but {} tokens",
                scenario.partitions.len(),
                tokens.len()
            ),
        ));
    }
    let mut bound = BTreeMap::new();
    let mut serials = Vec::new();
    for (index, (decl, mut t)) in scenario.partitions.iter().zip(tokens).enumerate() {
        let serial = decl.serial.as_str().to_string();
        t.lunacm.set_session_base(LUNACM_SESSION_BASE);
        let properties = ModelMember::new(declared.clone(), serial.clone())
            .properties()
            .ok();
        bound.insert(
            serial.clone(),
            Bound {
                index,
                label: decl.label.clone(),
                app: Arc::new(Mutex::new(t.app)),
                lunacm: Arc::new(Mutex::new(t.lunacm)),
                processes: Arc::default(),
                flags: Arc::new(Mutex::new(PartitionFlags {
                    deactivated: !decl.activated,
                    login_refused: false,
                })),
                properties,
            },
        );
        serials.push(serial);
    }
    Ok((SoftHsmPartitions { bound, lab: None }, serials))
}

/// The application's connection to each token, by scenario serial (for measurements that
/// call a token directly, beside the engine).
pub type Connections = BTreeMap<String, Arc<Mutex<Pkcs11Member>>>;

/// Creates the tokens for `scenario` and the world over them.
pub fn build(scenario: &Scenario, options: &SoftHsmOptions) -> Result<Built, TopologyError> {
    build_with_connections(scenario, options).map(|(built, _)| built)
}

/// [`build`], also handing out the application's connection to each token.
pub fn build_with_connections(
    scenario: &Scenario,
    options: &SoftHsmOptions,
) -> Result<(Built, Connections), TopologyError> {
    let config = topology::world_config(scenario)?;
    let declared = declared_model(&config)?;

    let labels: Vec<String> = (0..scenario.partitions.len())
        .map(|i| format!("hasim{i}"))
        .collect();
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (parent, keep) = match &options.keep_tokens {
        Some(dir) => (dir.clone(), true),
        None => (std::env::temp_dir(), false),
    };
    let mut spec = LabSpec::new(&parent, &label_refs, SO_PIN, &scenario.credentials.co);
    spec.user_pins = scenario
        .partitions
        .iter()
        .map(|p| p.co.as_deref().map(SecretString::from))
        .collect();
    spec.domains = scenario
        .partitions
        .iter()
        .map(|p| p.domain.clone())
        .collect();
    // Kept tokens stay inside the directory asked for.
    spec.tmpfs = !keep;
    let (mut lab, members) = SoftHsmLab::create(&spec).map_err(|e| err("backend", e))?;
    if keep {
        lab.keep();
    }

    let mut bound = BTreeMap::new();
    let mut binding = Vec::new();
    let mut serials = Vec::new();
    for (i, (decl, app)) in scenario.partitions.iter().zip(members).enumerate() {
        let serial = decl.serial.as_str().to_string();
        let token = &lab.tokens()[i];
        let mut lunacm = lab
            .open_instance(i, "lunacm", Some(spec.pin_of(i).clone()))
            .map_err(|e| err(format!("partitions[{i}]"), e))?;
        lunacm.set_session_base(LUNACM_SESSION_BASE);
        let properties = ModelMember::new(declared.clone(), serial.clone())
            .properties()
            .ok();
        let mut line = format!(
            "{serial} -> SoftHSM token {} (label {})",
            token.serial, token.label
        );
        if keep {
            line.push_str(&format!(
                ", module {}, conf {}",
                token.module.display(),
                token.conf.display()
            ));
        }
        binding.push(line);
        bound.insert(
            serial.clone(),
            Bound {
                index: i,
                label: decl.label.clone(),
                app: Arc::new(Mutex::new(app)),
                lunacm: Arc::new(Mutex::new(lunacm)),
                processes: Arc::default(),
                flags: Arc::new(Mutex::new(PartitionFlags {
                    deactivated: !decl.activated,
                    login_refused: false,
                })),
                properties,
            },
        );
        serials.push(serial);
    }
    let connections: Connections = bound
        .iter()
        .map(|(serial, b)| (serial.clone(), b.app.clone()))
        .collect();
    let partitions = SoftHsmPartitions {
        bound,
        lab: Some(lab),
    };
    let world = topology::build_world_over(scenario, &config, serials, Box::new(partitions))?;
    Ok((Built { world, binding }, connections))
}
