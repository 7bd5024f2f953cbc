//! The `Member` conformance suite against the model adapter (`sim::model_member::ModelMember`).
//! Always runs; the same cases run against SoftHSM in `tests/softhsm.rs`.

use std::sync::{Arc, Mutex};

use ha_engine::ckr::Ckr;
use ha_engine::ports::{
    KeyGenRequest, KeyKind, Member, MemberResult, ObjectClass, ObjectHandle, ObjectId, Secret,
    SessionHandle,
};
use hsm_model::{HsmModel, HsmSpec, PartitionSpec};
use libtest_mimic::{Arguments, Failed, Trial};
use pkcs11_member::conformance::{self, Backend};
use sim::model_member::ModelMember;

const PIN: &str = "model-co-pin";

/// Every `domain` call is a fresh model with partitions in a domain of its own.
#[derive(Default)]
struct ModelBackend {
    domains: u64,
}

impl Backend for ModelBackend {
    type M = ModelMember;

    fn pin(&self) -> Secret {
        Secret::new(PIN)
    }

    fn domain(&mut self, n: usize) -> Result<Vec<ModelMember>, String> {
        self.domains += 1;
        let d = self.domains;
        let mut model = HsmModel::new(d);
        model
            .add_hsm(HsmSpec::new("H"))
            .map_err(|e| e.to_string())?;
        let serials: Vec<String> = (0..n).map(|i| format!("D{d}P{i}")).collect();
        for serial in &serials {
            model
                .add_partition(PartitionSpec::new(
                    serial.as_str(),
                    serial.to_lowercase(),
                    "H",
                    format!("dom-{d}"),
                    PIN,
                ))
                .map_err(|e| e.to_string())?;
        }
        let model = Arc::new(Mutex::new(model));
        Ok(serials
            .into_iter()
            .map(|s| ModelMember::new(model.clone(), s))
            .collect())
    }

    /// The model has no real public-key operation: its signatures are recomputed with the
    /// private key's copy on the verifying member.
    fn verifying_class(&self, kind: KeyKind) -> ObjectClass {
        if kind.is_pair() {
            ObjectClass::PrivateKey
        } else {
            ObjectClass::SecretKey
        }
    }

    fn verify(
        &mut self,
        m: &mut ModelMember,
        s: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
        sig: &[u8],
    ) -> MemberResult<bool> {
        Ok(m.sign(s, key, data)? == sig)
    }

    /// The model's cipher is a keystream XOR plus a tag: the keystream is the encryption of
    /// zeros, and the result must re-encrypt to the ciphertext.
    fn decrypt(
        &mut self,
        m: &mut ModelMember,
        s: SessionHandle,
        key: ObjectHandle,
        ct: &[u8],
    ) -> MemberResult<Vec<u8>> {
        let n = ct
            .len()
            .checked_sub(hsm_model::crypto::TAG_LEN)
            .ok_or(Ckr(0x40))?;
        let stream = m.encrypt(s, key, &vec![0u8; n])?;
        let pt: Vec<u8> = ct[..n].iter().zip(&stream).map(|(c, k)| c ^ k).collect();
        if m.encrypt(s, key, &pt)? == ct {
            Ok(pt)
        } else {
            Err(Ckr(0x40))
        }
    }

    /// A MAC-based check value: the first 5 bytes of the key's signature over a zero block.
    fn check_value(
        &mut self,
        m: &mut ModelMember,
        s: SessionHandle,
        key: ObjectHandle,
    ) -> MemberResult<Vec<u8>> {
        Ok(m.sign(s, key, &[0u8; 16])?[..5].to_vec())
    }

    /// Partition policy 4 (secret key cloning) off.
    fn unreplicable_key(
        &mut self,
        m: &mut ModelMember,
        s: SessionHandle,
        id: &ObjectId,
    ) -> MemberResult<ObjectHandle> {
        let request = KeyGenRequest {
            kind: KeyKind::Aes256,
            id: id.clone(),
            label: "unreplicable".into(),
            token: true,
        };
        let h = m.generate_key(s, &request)?[0];
        let serial = m.serial().to_string();
        let model = m.model().clone();
        let mut guard = model.lock().map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        guard
            .partition_mut(&serial)
            .ok_or(Ckr::CKR_GENERAL_ERROR)?
            .set_policy(4, 0);
        Ok(h)
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials = conformance::cases::<ModelBackend>()
        .into_iter()
        .map(|case| {
            Trial::test(format!("model::{}", case.name), move || {
                (case.run)(&mut ModelBackend::default()).map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
