//! The counter as a `Vm`: `Increment { by }` in a native envelope.

use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{IdCom, Log, StateKey, sha256_parts};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateReader, StateResult, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};
use std::ops::RangeInclusive;

/// Opcodes no SPEC VM has: the counter claims them when registered.
const OPCODES: RangeInclusive<u8> = 0x50..=0x5F;
/// The opcode of [`CounterOp::Increment`].
pub const OPCODE_INCREMENT: u8 = 0x50;

/// The counter's operations; the first byte of the borsh encoding is the opcode.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum CounterOp {
    /// Adds `by` to the sender's counter (a counter that would pass `u64::MAX` fails).
    Increment { by: u64 } = 0x50,
}

impl CounterOp {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        nvm_vm_api::decode_payload(payload, "counter", OPCODES)
    }
}

/// `SHA-256("counter:" ‖ id_com)` → the identity's counter (u64, borsh).
pub fn counter_key(id: &IdCom) -> StateKey {
    sha256_parts(&[b"counter:", id])
}

/// The identity's counter in `state` (0 if it never counted).
pub fn counter(state: &mut dyn StateAccess, id: &IdCom) -> StateResult<u64> {
    Ok(state.get_decoded::<u64>(&counter_key(id))?.unwrap_or(0))
}

/// Adds `by` to `id`'s counter and returns the new value with the log it emits (source: the
/// counter's key; data: the new value).
pub(crate) fn increment(state: &mut TxOverlay<'_>, id: &IdCom, by: u64) -> VmResult<(u64, Log)> {
    let now = counter(state, id)?
        .checked_add(by)
        .ok_or_else(|| VmError::Failed(format!("the counter would pass {}", u64::MAX)))?;
    state.set_encoded(counter_key(id), &now);
    let log = Log { source: counter_key(id), topics: vec![], data: now.to_le_bytes().to_vec() };
    Ok((now, log))
}

/// The counter VM (and its wallet format).
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterVm;

impl Vm for CounterVm {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn opcodes(&self) -> RangeInclusive<u8> {
        OPCODES
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(&crate::COUNTER_FORMAT)
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        CounterOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
    }

    /// Only the sender's counter: counters run in parallel.
    fn declare(
        &self,
        env: &TxEnv<'_>,
        _payload: &[u8],
        _state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        access.write(counter_key(&env.sender));
        Ok(())
    }

    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        let CounterOp::Increment { by } = CounterOp::decode(payload).map_err(VmError::Invalid)?;
        let (now, log) = increment(state, &env.sender, by)?;
        Ok(ExecOutput { logs: vec![log], output: now.to_le_bytes().to_vec(), gas_used: 0 })
    }
}
