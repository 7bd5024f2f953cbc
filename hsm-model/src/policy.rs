//! Policy numbers and their defaults. HSM and partition policies are plain `number -> value`
//! maps (a value of 0 means off, 1 on); this module names the numbers the model acts on and
//! builds the default maps that specs start from.

use std::collections::BTreeMap;

/// HSM policy 7: allow cloning (1 = on).
pub const HSM_ALLOW_CLONING: u32 = 7;
/// HSM policy 12: allow non-FIPS algorithms (0 = FIPS mode).
pub const HSM_ALLOW_NON_FIPS: u32 = 12;
/// HSM policy 16: allow network replication (1 = on).
pub const HSM_ALLOW_NETWORK_REPLICATION: u32 = 16;
/// HSM policy 21: force user PIN change (1 = the CO credential must be changed before use).
pub const HSM_FORCE_PIN_CHANGE: u32 = 21;

/// Partition policy 0: allow private key cloning (1 = on).
pub const PARTITION_ALLOW_PRIVATE_KEY_CLONING: u32 = 0;
/// Partition policy 4: allow secret key cloning (1 = on).
pub const PARTITION_ALLOW_SECRET_KEY_CLONING: u32 = 4;
/// Partition policy 22: allow activation (1 = on).
pub const PARTITION_ALLOW_ACTIVATION: u32 = 22;

/// The HSM policies a new [`HsmSpec`](crate::HsmSpec) starts with: 7→1, 12→0, 16→1, 21→1
/// (the seed: policy 21 set to 1 is "the default setting").
pub fn default_hsm_policies() -> BTreeMap<u32, u64> {
    BTreeMap::from([
        (HSM_ALLOW_CLONING, 1),
        (HSM_ALLOW_NON_FIPS, 0),
        (HSM_ALLOW_NETWORK_REPLICATION, 1),
        (HSM_FORCE_PIN_CHANGE, 1),
    ])
}

/// The partition policies a new [`PartitionSpec`](crate::PartitionSpec) starts with:
/// 0→1, 4→1, 22→0.
pub fn default_partition_policies() -> BTreeMap<u32, u64> {
    BTreeMap::from([
        (PARTITION_ALLOW_PRIVATE_KEY_CLONING, 1),
        (PARTITION_ALLOW_SECRET_KEY_CLONING, 1),
        (PARTITION_ALLOW_ACTIVATION, 0),
    ])
}

/// Reads policy `number` from `map`; an unset policy reads as 0.
pub fn read(map: &BTreeMap<u32, u64>, number: u32) -> u64 {
    map.get(&number).copied().unwrap_or(0)
}

/// `defaults` overridden by every entry of `given`.
pub fn merged(defaults: BTreeMap<u32, u64>, given: &BTreeMap<u32, u64>) -> BTreeMap<u32, u64> {
    let mut out = defaults;
    out.extend(given.iter().map(|(k, v)| (*k, *v)));
    out
}
