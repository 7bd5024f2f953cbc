//! `multitoken -mode <keygen mode> -key <size> [-nodestroy] -slots <slot> [-count N]`: the
//! verification workload of §3.7, as hasim runs it. It is an application: it uses the engine's
//! application API (`open_session`, `login`, `generate_key`, `destroy_object`,
//! `close_session`) on a slot of the APPLICATION's slot list ([`HaEngine::app_slot_list`], so
//! in HA-only mode the virtual slot is 0, B58), and it shares the client library with the
//! scenario's application: once the slot is known to be a virtual slot, it initialises the
//! engine when nobody has (D16: the management thread starts then; a refused command leaves the
//! library uninitialised) and its login joins an existing one (PKCS#11 login state is per
//! token).
//!
//! Deterministic: keys are generated one after another at the same instant, labelled
//! `multitoken-<mode>-<size>-<n>`, one output line per key and a summary. Without `-nodestroy`
//! every key is destroyed right after it is made, as the vendor tool does.
//!
//! Modes: `aeskeygen` (`-key 128 | 256`), `rsakeygen` (`-key 2048`), `eckeygen` (`-key 256`,
//! P-256). `-count` is 1..=1000, default 1.

use ha_engine::HaEngine;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{KeyKind, Millis, Secret};
use ha_engine::slots::SlotTarget;

use crate::console::{Failure, Outcome};
use crate::error::LunaCmError;
use crate::hagroup::args::{self, flag, value};

/// Upper bound of `-count`.
pub const MAX_COUNT: u32 = 1000;

const C: &str = "multitoken";

/// A key generation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Aes,
    Rsa,
    Ec,
}

impl Mode {
    fn parse(raw: &str) -> Result<Mode, LunaCmError> {
        match raw.to_ascii_lowercase().as_str() {
            "aeskeygen" => Ok(Mode::Aes),
            "rsakeygen" => Ok(Mode::Rsa),
            "eckeygen" => Ok(Mode::Ec),
            _ => Err(LunaCmError::UnknownMode {
                given: raw.to_string(),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Aes => "aeskeygen",
            Mode::Rsa => "rsakeygen",
            Mode::Ec => "eckeygen",
        }
    }

    fn kind(self, size: i64) -> Result<KeyKind, LunaCmError> {
        let (kind, allowed) = match (self, size) {
            (Mode::Aes, 128) => (Some(KeyKind::Aes128), ""),
            (Mode::Aes, 256) => (Some(KeyKind::Aes256), ""),
            (Mode::Aes, _) => (None, "128, 256"),
            (Mode::Rsa, 2048) => (Some(KeyKind::Rsa2048), ""),
            (Mode::Rsa, _) => (None, "2048"),
            (Mode::Ec, 256) => (Some(KeyKind::EcP256), ""),
            (Mode::Ec, _) => (None, "256 (P-256)"),
        };
        kind.ok_or(LunaCmError::KeySize {
            mode: self.name(),
            given: size,
            allowed,
        })
    }
}

/// What the options ask for.
struct Request {
    mode: Mode,
    size: i64,
    kind: KeyKind,
    slot: i64,
    count: u32,
    nodestroy: bool,
}

fn parse(opts: &[String]) -> Result<Request, LunaCmError> {
    let p = args::parse(
        C,
        opts,
        &[
            value("mode"),
            value("key"),
            flag("nodestroy"),
            value("slots"),
            value("count"),
            value("password"),
        ],
    )?;
    if p.has("password") {
        return Err(LunaCmError::PasswordOnCommandLine { command: C });
    }
    let mode = Mode::parse(args::required(C, &p, "mode")?)?;
    let size = args::integer(C, "key", args::required(C, &p, "key")?)?;
    let kind = mode.kind(size)?;
    let slots = args::required(C, &p, "slots")?;
    if slots.contains(',') {
        return Err(LunaCmError::SeveralSlots {
            given: slots.to_string(),
        });
    }
    let slot = args::integer(C, "slots", slots)?;
    let count = match p.get("count") {
        None => 1,
        Some(raw) => {
            let n = args::integer(C, "count", raw)?;
            u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or(LunaCmError::Count {
                    given: n,
                    max: MAX_COUNT,
                })?
        }
    };
    Ok(Request {
        mode,
        size,
        kind,
        slot,
        count,
        nodestroy: p.has("nodestroy"),
    })
}

/// Runs the workload.
pub(crate) fn run(
    engine: &mut HaEngine,
    now: Millis,
    opts: &[String],
    credential: Option<&Secret>,
) -> Outcome {
    let req = parse(opts)?;
    let pin = credential.ok_or(LunaCmError::NoCredential { command: C })?;
    // The slot is checked first (the application's slot list works before `C_Initialize`), so
    // a refused slot leaves the library as it was; only a virtual slot initialises it.
    let entry = u64::try_from(req.slot)
        .ok()
        .and_then(|id| engine.app_slot(id))
        .ok_or_else(|| LunaCmError::NoSuchAppSlot {
            given: req.slot,
            listed: match engine.app_slot_list().len() {
                0 => "the application sees no slot".to_string(),
                1 => "the application sees only slot 0".to_string(),
                n => format!("the application sees slots 0..{}", n - 1),
            },
        })?;
    let g = match entry.target {
        SlotTarget::Virtual(g) => g,
        SlotTarget::Physical(_) => {
            return Err(LunaCmError::PhysicalAppSlot {
                id: entry.id,
                serial: entry.serial,
            }
            .into());
        }
    };
    if !engine.is_initialized() {
        engine.initialize(now).map_err(LunaCmError::Engine)?;
    }
    let mut lines = vec![
        String::new(),
        format!(
            "        multitoken: slot {} ({} {}, serial {}), mode {}, key {}, count {}{}",
            entry.id,
            entry.description,
            entry.label,
            entry.serial,
            req.mode.name(),
            req.size,
            req.count,
            if req.nodestroy { ", -nodestroy" } else { "" }
        ),
    ];
    let vs = match engine.open_session(now, g) {
        Ok(vs) => vs,
        Err(e) => return Err(Failure::after(lines, LunaCmError::Engine(e))),
    };
    match engine.login(now, vs, pin) {
        Ok(()) => {}
        Err(e) if e.rv == Ckr::CKR_USER_ALREADY_LOGGED_IN => {}
        Err(e) => {
            // The session is ours; closing it cannot make the failure worse.
            let _ = engine.close_session(now, vs);
            return Err(Failure::after(lines, LunaCmError::Engine(e)));
        }
    }
    let function = if req.kind.is_pair() {
        "C_GenerateKeyPair"
    } else {
        "C_GenerateKey"
    };
    let (mut made, mut kept) = (0u32, 0u32);
    let mut first_failure = None;
    for n in 1..=req.count {
        let label = format!("multitoken-{}-{}-{n}", req.mode.name(), req.size);
        let mut line = format!("        key {n} of {}: {label}  {function} -> ", req.count);
        match engine.generate_key(now, vs, req.kind, &label, true) {
            Ok(handles) => {
                made += 1;
                line.push_str("CKR_OK");
                if req.nodestroy {
                    kept += 1;
                } else {
                    let mut destroyed = Ok(());
                    for h in handles {
                        destroyed = destroyed.and(engine.destroy_object(now, vs, h));
                    }
                    match destroyed {
                        Ok(()) => line.push_str(", C_DestroyObject -> CKR_OK"),
                        Err(e) => {
                            kept += 1;
                            line.push_str(&format!(", C_DestroyObject -> {}", e.rv));
                        }
                    }
                }
            }
            Err(e) => {
                line.push_str(&e.rv.name());
                first_failure.get_or_insert(e);
            }
        }
        lines.push(line);
    }
    // The workload's own session; the application's sessions and login are untouched.
    let _ = engine.close_session(now, vs);
    let failed = req.count - made;
    lines.push(format!(
        "        summary: {made} generated, {failed} failed; {kept} kept on the group{}",
        if req.nodestroy {
            " (-nodestroy)"
        } else {
            " (destroyed: no -nodestroy)"
        }
    ));
    match first_failure {
        None => Ok(lines),
        Some(first) => Err(Failure::after(
            lines,
            LunaCmError::KeysFailed {
                failed,
                count: req.count,
                first,
            },
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::test_support::{fixture, lines};

    fn group(f: &mut crate::test_support::Fixture) {
        lines(f, "hagroup creategroup -label g -serialnumber 11");
        lines(f, "hagroup addmember -group g -serialnumber 22");
        lines(f, "hagroup halog -path /ha-logs");
    }

    #[test]
    fn keys_are_generated_on_the_virtual_slot_and_replicated() {
        let mut f = fixture(&["11", "22"]);
        group(&mut f);
        assert_eq!(
            lines(
                &mut f,
                "multitoken -mode aeskeygen -key 256 -nodestroy -slots 2 -count 2"
            ),
            [
                "",
                "        multitoken: slot 2 (HA Virtual Card Slot g, serial 111), mode aeskeygen, key 256, count 2, -nodestroy",
                "        key 1 of 2: multitoken-aeskeygen-256-1  C_GenerateKey -> CKR_OK",
                "        key 2 of 2: multitoken-aeskeygen-256-2  C_GenerateKey -> CKR_OK",
                "        summary: 2 generated, 0 failed; 2 kept on the group (-nodestroy)",
                "",
                "Command Result : No Error",
            ]
        );
        assert_eq!(
            (f.controls[0].token_objects(), f.controls[1].token_objects()),
            (2, 2)
        );
        assert_eq!(
            f.sink.lines(),
            [
                "Wed Oct  4 16:29:21 2017 : [17469] HA group: 111 management thread started",
                "Wed Oct  4 16:29:21 2017 : [17469] HA group: 111 configured as a \"PASSWORD Based\" virtual device",
            ]
        );
    }

    #[test]
    fn without_nodestroy_every_key_is_destroyed_again() {
        let mut f = fixture(&["11", "22"]);
        group(&mut f);
        let out = lines(&mut f, "multitoken -mode eckeygen -key 256 -slots 2");
        assert_eq!(
            out[2],
            "        key 1 of 1: multitoken-eckeygen-256-1  C_GenerateKeyPair -> CKR_OK, C_DestroyObject -> CKR_OK"
        );
        assert_eq!(
            out[3],
            "        summary: 1 generated, 0 failed; 0 kept on the group (destroyed: no -nodestroy)"
        );
        assert_eq!(
            (f.controls[0].token_objects(), f.controls[1].token_objects()),
            (0, 0)
        );
    }

    #[test]
    fn physical_slots_sizes_and_counts_are_refused() {
        let mut f = fixture(&["11", "22"]);
        group(&mut f);
        let refusal = |f: &mut crate::test_support::Fixture, line: &str| {
            lines(f, line).first().cloned().unwrap_or_default()
        };
        assert_eq!(
            refusal(&mut f, "multitoken -mode aeskeygen -key 192 -slots 2"),
            "Error: multitoken: -key 192 is out of range for -mode aeskeygen (allowed: 128, 256)"
        );
        assert_eq!(
            refusal(&mut f, "multitoken -mode deskeygen -key 192 -slots 2"),
            "Error: multitoken: -mode 'deskeygen' is not a key generation mode (expected one of: aeskeygen, rsakeygen, eckeygen)"
        );
        assert_eq!(
            refusal(
                &mut f,
                "multitoken -mode aeskeygen -key 128 -slots 2 -count 0"
            ),
            "Error: multitoken: -count 0 is out of range: allowed 1..1000"
        );
        assert_eq!(
            refusal(&mut f, "multitoken -mode aeskeygen -key 128 -slots 0"),
            "Error: multitoken: -slots 0 is partition 11, a physical slot; hasim's multitoken runs on an HA virtual slot (B21)"
        );
        assert_eq!(
            refusal(&mut f, "multitoken -mode aeskeygen -key 128 -slots 3"),
            "Error: multitoken: -slots 3 is not a slot the application sees (the application sees slots 0..2; D14, B56-B58)"
        );
        assert_eq!(
            (f.controls[0].token_objects(), f.controls[1].token_objects()),
            (0, 0)
        );
        // No refusal initialised the library (no management thread was started).
        assert!(!f.engine.is_initialized());
        assert!(f.sink.lines().is_empty());
    }

    #[test]
    fn in_ha_only_mode_the_virtual_slot_is_0() {
        let mut f = fixture(&["11", "22"]);
        group(&mut f);
        lines(&mut f, "hagroup haonly -enable");
        let out = lines(
            &mut f,
            "multitoken -mode rsakeygen -key 2048 -nodestroy -slots 0",
        );
        assert_eq!(
            out[1],
            "        multitoken: slot 0 (HA Virtual Card Slot g, serial 111), mode rsakeygen, key 2048, count 1, -nodestroy"
        );
        assert_eq!(
            (f.controls[0].token_objects(), f.controls[1].token_objects()),
            (2, 2)
        );
    }
}
