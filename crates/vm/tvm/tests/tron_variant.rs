//! The Tron VM as a variant of the EVM: contracts that use no Tron opcode give the same results
//! and gas (energy) as on mainline revm; `ISCONTRACT` sees code in Tron's account space only;
//! Tron's resource opcodes halt; and the Tron VM runs on the chain at its own opcodes.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_primitives::{Address, Bytes, U256, keccak256};
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, StateReader, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_evm::{AccountSpace, CallOutcome, CallRequest, EvmOp, EvmVm, code_key};
use nvm_vm_tvm::{ISCONTRACT, TvmVm};
use proptest::prelude::*;

fn block() -> BlockEnv {
    BlockEnv {
        chain_id: 31_337,
        height: 1,
        timestamp_ms: 1_000,
        gas_limit: 30_000_000,
        ..Default::default()
    }
}

fn create(init_code: &[u8]) -> CallRequest {
    CallRequest {
        from: None,
        to: None,
        value: U256::ZERO,
        data: Bytes::copy_from_slice(init_code),
        gas: Some(200_000),
        token: None,
        ..CallRequest::default()
    }
}

/// Init code returning the 32-byte word `ISCONTRACT(address)` leaves.
fn asks_is_contract(address: Address) -> Vec<u8> {
    let mut code = vec![0x73]; // PUSH20
    code.extend_from_slice(address.as_slice());
    code.extend_from_slice(&[ISCONTRACT, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]);
    code
}

/// `state` with `code` at `address` in `space`.
fn with_code(state: &mut MemoryState, space: AccountSpace, address: Address, code: &[u8]) {
    let hash = keccak256(code);
    let mut overlay = TxOverlay::new(&*state);
    nvm_state_api::StateAccess::set(&mut overlay, space.code_hash_key(&address), hash.to_vec());
    nvm_state_api::StateAccess::set(&mut overlay, code_key(&hash), code.to_vec());
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
}

fn word(outcome: CallOutcome) -> U256 {
    match outcome {
        CallOutcome::Success { output, .. } => U256::from_be_slice(&output),
        other => panic!("expected success, got {other:?}"),
    }
}

#[test]
fn iscontract_sees_code_in_trons_space_only_and_resource_opcodes_halt() {
    let (tron, mut state) = (TvmVm::default(), MemoryState::default());
    let (tron_contract, eth_contract) = (Address::repeat_byte(0x11), Address::repeat_byte(0x22));
    with_code(&mut state, nvm_vm_tvm::TRON_SPACE, tron_contract, &[0x00]);
    with_code(&mut state, AccountSpace::ETHEREUM, eth_contract, &[0x00]);
    let ask = |address| {
        word(tron.simulate(&state, &block(), &create(&asks_is_contract(address)), None).unwrap())
    };
    assert_eq!(ask(tron_contract), U256::from(1));
    assert_eq!(ask(eth_contract), U256::ZERO, "an Ethereum contract is not a Tron one");
    assert_eq!(ask(Address::repeat_byte(0x33)), U256::ZERO);
    // Mainline has no ISCONTRACT.
    let mainline = <EvmVm>::default().simulate(
        &state,
        &block(),
        &create(&asks_is_contract(eth_contract)),
        None,
    );
    assert!(
        matches!(mainline.unwrap(), CallOutcome::Halt { ref reason, .. } if reason.contains("OpcodeNotFound"))
    );
    for opcode in nvm_vm_tvm::RESOURCE_OPCODES {
        match tron.simulate(&state, &block(), &create(&[opcode]), None).unwrap() {
            CallOutcome::Halt { reason, .. } => {
                assert!(reason.contains("NotActivated"), "{reason}")
            }
            other => panic!("opcode {opcode:#04x} did not halt: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any code without a Tron opcode ends the same way with the same gas on both.
    #[test]
    fn code_without_tron_opcodes_runs_as_on_mainline(
        code in proptest::collection::vec(any::<u8>(), 0..64)
    ) {
        // No Tron opcode (0xd0–0xdf), and no CREATE2 (Tron derives its address its own way).
        let code: Vec<u8> =
            code.into_iter().filter(|b| !(0xd0..=0xdf).contains(b) && *b != 0xf5).collect();
        let state = MemoryState::default();
        let request = create(&code);
        let tron = TvmVm::default().simulate(&state, &block(), &request, None);
        let mainline = <EvmVm>::default().simulate(&state, &block(), &request, None);
        prop_assert_eq!(format!("{tron:?}"), format!("{mainline:?}"));
    }
}

/// Runs `init_code` as a deployment in a native envelope at `opcode_base` (0x10 the EVM, 0x40
/// the Tron VM) on a fresh dev chain: the receipt's status and gas, and the first slots of the
/// contract (wherever each VM puts it) with the deployer's balance after.
fn deployed(opcode_base: u8, init_code: &[u8]) -> (String, u64, Vec<U256>, u128) {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let op = EvmOp::Create { value: 0, init_code: init_code.to_vec(), gas_limit: 1_000_000 };
    let raw = nvm_vms::dev::dev_envelope(0, op.encode_at(opcode_base));
    let hash = node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 1_000).unwrap().included, 1);
    let receipt = node.receipt(&hash).unwrap().unwrap();
    let dev = nvm_vms::dev::dev_id();
    let (space, contract) = if opcode_base == 0x40 {
        let deployer = nvm_vm_tvm::TRON_SPACE.account_of(&dev);
        (nvm_vm_tvm::TRON_SPACE, nvm_vm_tvm::contract_address(&hash, &deployer))
    } else {
        (AccountSpace::ETHEREUM, AccountSpace::ETHEREUM.account_of(&dev).create(0))
    };
    let snapshot = node.snapshot().unwrap();
    let slots = (0..4)
        .map(|i| {
            let value = snapshot.get(&space.storage_key(&contract, &U256::from(i))).unwrap();
            value.map(|b| U256::from_be_slice(&b)).unwrap_or_default()
        })
        .collect();
    let mut view = TxOverlay::new(&snapshot);
    let balance = nvm_ledger::Ledger::balance(&mut view, &nvm_ledger::NATIVE_MINT, &dev).unwrap();
    (format!("{:?}", receipt.status), receipt.gas_used, slots, balance)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Deployed on a chain, code without a Tron opcode leaves the same post-state on both: the
    /// same outcome, gas = energy, the same storage and the same balance left to its deployer.
    #[test]
    fn deployments_without_tron_opcodes_leave_the_same_state(
        writes in proptest::collection::vec((any::<u64>(), 0u8..4), 0..4),
        tail in proptest::collection::vec(any::<u8>(), 0..32)
    ) {
        let mut code = Vec::new();
        for (value, slot) in writes {
            code.push(0x67); // PUSH8 value, PUSH1 slot, SSTORE
            code.extend_from_slice(&value.to_be_bytes());
            code.extend_from_slice(&[0x60, slot, 0x55]);
        }
        // Then random code, as above, without what shows an address (each VM puts the contract
        // elsewhere and shows the deployer and proposer in its own space): ADDRESS, ORIGIN,
        // CALLER, COINBASE.
        let shows_address = [0x30, 0x32, 0x33, 0x41];
        let kept = |b: &u8| !(0xd0..=0xdf).contains(b) && *b != 0xf5 && !shows_address.contains(b);
        code.extend(tail.into_iter().filter(kept));
        prop_assert_eq!(deployed(0x40, &code), deployed(0x10, &code));
    }
}

#[test]
fn the_tron_vm_deploys_at_its_own_opcodes_into_its_own_space() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    assert!(node.executor().vms.available().contains(&"tvm"));
    // Init code returning runtime code `STOP`.
    let init = vec![0x60, 0x00, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3];
    let deploy = EvmOp::Create { value: 0, init_code: init, gas_limit: 100_000 }.encode_at(0x40);
    let raw = nvm_vms::dev::dev_envelope(0, deploy);
    let hash = node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 1_000).unwrap().included, 1);
    let receipt = node.receipt(&hash).unwrap().unwrap();
    assert_eq!((receipt.status, receipt.opcode), (TxStatus::Success, 0x41));
    assert!(receipt.gas_used > 0);
    // An EVM opcode's payload is not the Tron VM's: 0x10 routes to the EVM, 0x44 to nothing.
    let stray = nvm_vms::dev::dev_envelope(1, vec![0x44]);
    let refused = node.submit(vec![stray]).unwrap().pop().unwrap();
    assert!(refused.is_err(), "{refused:?}");
    // Created by the dev identity's Tron account at Tron's address for the transaction (not
    // Ethereum's nonce-derived one), its code is in Tron's space only.
    let deployer = nvm_vm_tvm::TRON_SPACE.account_of(&nvm_vms::dev::dev_id());
    let contract = nvm_vm_tvm::contract_address(&hash, &deployer);
    assert_ne!(contract, deployer.create(0));
    let snapshot = node.snapshot().unwrap();
    assert!(snapshot.get(&nvm_vm_tvm::TRON_SPACE.code_hash_key(&contract)).unwrap().is_some());
    assert!(snapshot.get(&AccountSpace::ETHEREUM.code_hash_key(&contract)).unwrap().is_none());
}

fn call(to: Address, data: Vec<u8>) -> CallRequest {
    CallRequest {
        from: None,
        to: Some(to),
        value: U256::ZERO,
        data: data.into(),
        gas: Some(500_000),
        token: None,
        ..CallRequest::default()
    }
}

#[test]
fn trons_precompiles_validate_signatures_at_0x09_and_0x0a() {
    use alloy_signer::SignerSync;
    use alloy_sol_types::SolValue;
    let (tron, state) = (TvmVm::default(), MemoryState::default());
    let keys: Vec<_> = (0..2).map(|_| alloy_signer_local::PrivateKeySigner::random()).collect();
    let hash = keccak256(b"a message");
    let sign = |key: &alloy_signer_local::PrivateKeySigner, hash| {
        Bytes::from(key.sign_hash_sync(&hash).unwrap().as_bytes().to_vec())
    };
    let run = |to, data: Vec<u8>| tron.simulate(&state, &block(), &call(to, data), None).unwrap();

    // batchvalidatesign: one byte per signature, from the most significant.
    let signatures = vec![sign(&keys[0], hash), sign(&keys[1], hash)];
    let signers = vec![keys[0].address(), keys[0].address()];
    let input = (hash, signatures, signers).abi_encode_params();
    let mut expected = [0u8; 32];
    expected[0] = 1;
    assert_eq!(
        word(run(nvm_vm_tvm::BATCH_VALIDATE_SIGN, input.clone())),
        U256::from_be_bytes(expected)
    );
    // Mainline's 0x09 is BLAKE2F, which refuses this input.
    let mainline = <EvmVm>::default().simulate(
        &state,
        &block(),
        &call(nvm_vm_tvm::BATCH_VALIDATE_SIGN, input),
        None,
    );
    assert!(!matches!(mainline.unwrap(), CallOutcome::Success { .. }));
    // Unreadable input: all zeros, as java-tron answers.
    assert_eq!(word(run(nvm_vm_tvm::BATCH_VALIDATE_SIGN, vec![1, 2, 3])), U256::ZERO);

    // validatemultisign: the account's own key over SHA-256(0x41 ‖ account ‖ permission ‖ content).
    let account = keys[0].address();
    let content = keccak256(b"content");
    let signed_for = |permission: u32, key| {
        let preimage =
            [&[0x41][..], account.as_slice(), &permission.to_be_bytes(), &content[..]].concat();
        sign(key, alloy_primitives::B256::from(nvm_primitives::sha256(&preimage)))
    };
    let ask = |permission: u32, signatures: Vec<Bytes>| {
        let input = (account, U256::from(permission), content, signatures).abi_encode_params();
        word(run(nvm_vm_tvm::VALIDATE_MULTI_SIGN, input))
    };
    assert_eq!(ask(0, vec![signed_for(0, &keys[0])]), U256::from(1));
    assert_eq!(
        ask(2, vec![signed_for(2, &keys[0])]),
        U256::from(1),
        "the default active permission"
    );
    assert_eq!(ask(0, vec![signed_for(0, &keys[1])]), U256::ZERO, "another key");
    assert_eq!(ask(0, vec![signed_for(0, &keys[0]), signed_for(0, &keys[1])]), U256::ZERO);
    assert_eq!(ask(0, vec![signed_for(2, &keys[0])]), U256::ZERO, "signed for another permission");
    assert_eq!(ask(1, vec![signed_for(1, &keys[0])]), U256::ZERO, "no witness permission");
    assert_eq!(ask(0, vec![]), U256::ZERO);
    let malformed = run(nvm_vm_tvm::VALIDATE_MULTI_SIGN, vec![1, 2, 3]);
    assert!(matches!(malformed, CallOutcome::Halt { .. }), "{malformed:?}");
}

#[test]
fn a_simulated_call_sees_the_token_value_it_is_sent() {
    let (tron, state) = (TvmVm::default(), MemoryState::default());
    // Init code returning CALLTOKENID as a word.
    let request = CallRequest {
        token: Some(nvm_vm_evm::TokenValue { id: 1_000_007, amount: 0 }),
        ..create(&[nvm_vm_tvm::CALLTOKENID, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3])
    };
    assert_eq!(
        word(tron.simulate(&state, &block(), &request, None).unwrap()),
        U256::from(1_000_007)
    );
    let plain = CallRequest { token: None, ..request };
    assert_eq!(word(tron.simulate(&state, &block(), &plain, None).unwrap()), U256::ZERO);
}
