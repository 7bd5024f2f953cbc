//! The object handles this member gives the engine. A real module reissues its handles (after
//! a logout, when the last session closes) and renumbers them from 1 after a re-initialise, so
//! a real handle kept across a reconnect could silently name another object. The member
//! therefore hands out its own handles, never reused, each mapped to the real handle of the
//! current epoch; [`HandleTable::invalidate`] starts a new epoch (every older handle answers
//! `CKR_OBJECT_HANDLE_INVALID`, exactly as the model does), and the engine finds its objects
//! again by `CKA_ID`.

use std::collections::BTreeMap;

use cryptoki::object::{KeyType, ObjectClass, ObjectHandle};
use cryptoki_sys::CK_OBJECT_HANDLE;
use ha_engine::ckr::Ckr;
use ha_engine::ports::ObjectHandle as PortHandle;

/// What the member learned about an object (read once, on first use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `CKA_CLASS`.
    pub class: ObjectClass,
    /// `CKA_KEY_TYPE`, for keys.
    pub key_type: Option<KeyType>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    real: ObjectHandle,
    shape: Option<Shape>,
}

/// Port handles of the current epoch.
#[derive(Debug, Default)]
pub struct HandleTable {
    next: PortHandle,
    by_port: BTreeMap<PortHandle, Entry>,
    by_real: BTreeMap<CK_OBJECT_HANDLE, PortHandle>,
}

impl HandleTable {
    /// The port handle for `real` (the same one while the epoch lasts).
    pub fn issue(&mut self, real: ObjectHandle) -> PortHandle {
        if let Some(h) = self.by_real.get(&real.handle()) {
            return *h;
        }
        self.next += 1;
        let h = self.next;
        self.by_port.insert(h, Entry { real, shape: None });
        self.by_real.insert(real.handle(), h);
        h
    }

    /// The real handle behind `h`, or `CKR_OBJECT_HANDLE_INVALID`.
    pub fn real(&self, h: PortHandle) -> Result<ObjectHandle, Ckr> {
        self.by_port
            .get(&h)
            .map(|e| e.real)
            .ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)
    }

    /// The cached shape of `h`.
    pub fn shape(&self, h: PortHandle) -> Option<Shape> {
        self.by_port.get(&h).and_then(|e| e.shape)
    }

    /// Caches the shape of `h`.
    pub fn set_shape(&mut self, h: PortHandle, shape: Shape) {
        if let Some(e) = self.by_port.get_mut(&h) {
            e.shape = Some(shape);
        }
    }

    /// Points `h` at `real` (its object was created again under a new real handle), keeping
    /// its shape.
    pub fn rebind(&mut self, h: PortHandle, real: ObjectHandle) {
        if let Some(e) = self.by_port.get_mut(&h) {
            self.by_real.remove(&e.real.handle());
            e.real = real;
            self.by_real.insert(real.handle(), h);
        }
    }

    /// Forgets `h` (its object was destroyed).
    pub fn remove(&mut self, h: PortHandle) {
        if let Some(e) = self.by_port.remove(&h) {
            self.by_real.remove(&e.real.handle());
        }
    }

    /// Starts a new epoch: every handle issued so far is invalid. Numbers are never reused.
    pub fn invalidate(&mut self) {
        self.by_port.clear();
        self.by_real.clear();
    }
}
