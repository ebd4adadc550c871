//! EVM operations carried in native envelopes: `opcode ‖ borsh(body)`.

use borsh::{BorshDeserialize, BorshSerialize};

/// One EVM operation; the borsh discriminant is the opcode byte.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum EvmOp {
    /// Calls `to` with `value` wei and `data`, with at most `gas_limit` gas.
    Call { to: [u8; 20], value: u128, data: Vec<u8>, gas_limit: u64 } = 0x10,
    /// Deploys a contract from `init_code`; its address is `keccak(rlp(sender, nonce))[12..]`.
    Create { value: u128, init_code: Vec<u8>, gas_limit: u64 } = 0x11,
    /// Sends `value` wei to `to` as a plain Ethereum transfer (21,000 gas plus what a receiving
    /// contract's code uses, up to 100,000).
    Transfer { to: [u8; 20], value: u128 } = 0x12,
    /// Runs a call (or, without `to`, a deployment) as the account `from` at its nonce `nonce`,
    /// whose key nobody here holds: anvil's impersonation (`anvil_impersonateAccount`, then
    /// `eth_sendTransaction`). Only a dev chain's dev authority may send it
    /// (`nvm_identity::dev_authority_key`); `from`'s identity pays the value, the authority the fee.
    DevCallAs {
        from: [u8; 20],
        to: Option<[u8; 20]>,
        value: u128,
        data: Vec<u8>,
        gas_limit: u64,
        nonce: u64,
    } = 0x13,
}

/// The opcode of [`EvmOp::Call`] (receipts of Ethereum calls carry it too).
pub const OPCODE_CALL: u8 = 0x10;
/// The opcode of [`EvmOp::Create`] (receipts of Ethereum contract creations carry it too).
pub const OPCODE_CREATE: u8 = 0x11;

/// Gas a plain transfer may use (a receiving contract's `receive` runs within it).
pub const TRANSFER_GAS: u64 = 100_000;

impl EvmOp {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Strict decoding: unknown opcodes, truncated bodies and trailing bytes are errors.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        nvm_vm_api::decode_payload(payload, "EVM", 0x10..=0x13)
    }

    /// The operation as a variant whose opcodes start at `base` carries it (the Tron VM's at
    /// 0x40: `Call` 0x40, `Create` 0x41, `Transfer` 0x42; the EVM's own at 0x10).
    pub fn encode_at(&self, base: u8) -> Vec<u8> {
        let mut payload = self.encode();
        payload[0] = payload[0] - OPCODE_CALL + base;
        payload
    }

    /// [`EvmOp::decode`] of a payload at `base` ([`EvmOp::encode_at`]); errors name `vm`.
    pub fn decode_at(payload: &[u8], vm: &str, base: u8) -> Result<Self, String> {
        match payload.first() {
            Some(&op) if (base..=base + 3).contains(&op) => {
                // The EVM's opcode, then the body in place: no copy of the payload (calldata).
                let malformed = |e: &dyn std::fmt::Display| {
                    format!("malformed body for {vm} opcode {op:#04x}: {e}")
                };
                let opcode = [op - base + OPCODE_CALL];
                let mut reader = std::io::Read::chain(&opcode[..], &payload[1..]);
                let decoded = Self::deserialize_reader(&mut reader).map_err(|e| malformed(&e))?;
                let mut rest = [0u8; 1];
                match std::io::Read::read(&mut reader, &mut rest) {
                    Ok(0) => Ok(decoded),
                    _ => Err(malformed(&"Not all bytes read")),
                }
            }
            _ => nvm_vm_api::decode_payload(payload, vm, base..=base + 2),
        }
    }

    /// Gas the operation reserves from its block's gas limit.
    pub fn gas_limit(&self) -> u64 {
        match self {
            Self::Call { gas_limit, .. }
            | Self::Create { gas_limit, .. }
            | Self::DevCallAs { gas_limit, .. } => *gas_limit,
            Self::Transfer { .. } => TRANSFER_GAS,
        }
    }

    pub fn value(&self) -> u128 {
        match self {
            Self::Call { value, .. }
            | Self::Create { value, .. }
            | Self::Transfer { value, .. }
            | Self::DevCallAs { value, .. } => *value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_variant_carries_the_same_operations_at_its_own_opcodes() {
        let op = EvmOp::Call { to: [2; 20], value: 1, data: vec![3], gas_limit: 9 };
        let at_tron = op.encode_at(0x40);
        assert_eq!(at_tron[0], 0x40);
        assert_eq!(EvmOp::decode_at(&at_tron, "TVM", 0x40), Ok(op.clone()));
        assert_eq!(EvmOp::decode_at(&op.encode(), "EVM", 0x10), Ok(op));
        let wrong = EvmOp::decode_at(&[0x10], "TVM", 0x40).unwrap_err();
        assert!(wrong.contains("unknown TVM opcode 0x10"), "{wrong}");
        let malformed = EvmOp::decode_at(&[0x41, 0xff], "TVM", 0x40).unwrap_err();
        assert!(malformed.contains("malformed body for TVM opcode 0x41"), "{malformed}");
        let mut trailing = EvmOp::Transfer { to: [1; 20], value: 5 }.encode_at(0x40);
        trailing.push(0);
        assert!(EvmOp::decode_at(&trailing, "TVM", 0x40).unwrap_err().contains("Not all bytes"));
    }

    #[test]
    fn opcodes_and_strictness() {
        let op = EvmOp::Transfer { to: [1; 20], value: 5 };
        assert_eq!(op.encode()[0], 0x12);
        assert_eq!(EvmOp::decode(&op.encode()), Ok(op));
        assert!(EvmOp::decode(&[0x1F]).unwrap_err().contains("unknown EVM opcode"));
        let mut bytes = EvmOp::Create { value: 0, init_code: vec![1], gas_limit: 1 }.encode();
        bytes.push(0);
        assert!(EvmOp::decode(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn decode_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(op) = EvmOp::decode(&bytes) {
                prop_assert_eq!(op.encode(), bytes);
            }
        }
    }
}
