//! [`ObjectTable`]: a partition's objects by handle, kept as a vector sorted by handle.
//!
//! Handles only grow (a new object takes the next handle) and are reissued in the order of the
//! old ones, so the vector stays sorted without ever inserting in the middle: a new object is
//! pushed at the end, a lookup is a binary search, and reissuing every handle (after a logout
//! or when the last session closes) rewrites the handles in place instead of rebuilding a map.
//! Iteration is in handle order, as a `BTreeMap<u64, _>` would give.

use crate::object::ObjectRecord;

/// Objects in ascending handle order (each record's `handle` is its key).
#[derive(Clone, Default)]
pub(crate) struct ObjectTable {
    records: Vec<ObjectRecord>,
}

impl ObjectTable {
    fn position(&self, handle: u64) -> Result<usize, usize> {
        self.records.binary_search_by_key(&handle, |r| r.handle)
    }

    /// The object with `handle`.
    pub(crate) fn get(&self, handle: u64) -> Option<&ObjectRecord> {
        self.position(handle).ok().map(|i| &self.records[i])
    }

    /// The object with `handle`, to change (not its handle).
    pub(crate) fn get_mut(&mut self, handle: u64) -> Option<&mut ObjectRecord> {
        self.position(handle).ok().map(|i| &mut self.records[i])
    }

    /// Adds `record` under its own handle (at the end when it is the highest, as every fresh
    /// handle is).
    pub(crate) fn insert(&mut self, record: ObjectRecord) {
        match self.position(record.handle) {
            Ok(i) => self.records[i] = record,
            Err(i) if i == self.records.len() => self.records.push(record),
            Err(i) => self.records.insert(i, record),
        }
    }

    /// Removes the object with `handle`.
    pub(crate) fn remove(&mut self, handle: u64) {
        if let Ok(i) = self.position(handle) {
            self.records.remove(i);
        }
    }

    /// Keeps the objects `keep` accepts.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&ObjectRecord) -> bool) {
        self.records.retain(keep);
    }

    /// Every object, in handle order.
    pub(crate) fn values(&self) -> std::slice::Iter<'_, ObjectRecord> {
        self.records.iter()
    }

    /// Number of objects.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Gives the objects the handles `first`, `first + 1`, ... in the order of their old
    /// handles.
    pub(crate) fn reissue(&mut self, first: u64) {
        for (record, handle) in self.records.iter_mut().zip(first..) {
            record.handle = handle;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::object::ObjectClass;

    fn record(handle: u64) -> ObjectRecord {
        ObjectRecord {
            handle,
            id: handle.to_string().into_bytes(),
            label: format!("o{handle}"),
            class: ObjectClass::Data,
            kind: None,
            token: true,
            private: false,
            secret: Vec::new(),
            value: Vec::new(),
            size: 1,
            owner_session: None,
        }
    }

    #[test]
    fn keeps_handle_order_and_finds_by_handle() {
        let mut t = ObjectTable::default();
        for h in [3, 5, 9] {
            t.insert(record(h));
        }
        t.insert(record(4)); // out of order: inserted in place
        let handles: Vec<u64> = t.values().map(|r| r.handle).collect();
        assert_eq!(handles, [3, 4, 5, 9]);
        assert_eq!(t.get(5).unwrap().label, "o5");
        assert!(t.get(6).is_none());
        t.get_mut(9).unwrap().size = 7;
        assert_eq!(t.get(9).unwrap().size, 7);
        t.remove(4);
        t.remove(4); // absent: nothing happens
        assert_eq!(t.len(), 3);
        t.retain(|r| r.handle != 3);
        assert_eq!(t.values().map(|r| r.handle).collect::<Vec<_>>(), [5, 9]);
    }

    #[test]
    fn reissue_renumbers_in_old_order() {
        let mut t = ObjectTable::default();
        for h in [2, 7, 8] {
            t.insert(record(h));
        }
        t.reissue(20);
        let got: Vec<(u64, String)> = t.values().map(|r| (r.handle, r.label.clone())).collect();
        assert_eq!(
            got,
            [(20, "o2".into()), (21, "o7".into()), (22, "o8".into())]
        );
        assert_eq!(t.get(21).unwrap().label, "o7");
        assert!(t.get(2).is_none());
    }
}
