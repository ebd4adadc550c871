//! P2WPKH spends in signed Bitcoin transactions through the node (issue 16): strict decoding at
//! admission, every input verified by Bitcoin Core's interpreter (at admission and in the
//! block), coins spent and created in the unified state, state root, fsync'd commit. Each spend
//! has one input and two outputs (a payment to the next wallet and change), as wallets make them.

use super::{BenchArgs, key_of, pipeline, rate};
use bitcoin::{
    Amount, CompressedPublicKey, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
    absolute::LockTime,
    consensus::encode::serialize,
    secp256k1::{Message, Secp256k1, SecretKey},
    sighash::SighashCache,
    transaction::Version,
};
use nvm_node::{DEV_CHAIN_ID, DEV_TX_FEE, GenesisAccount};
use nvm_primitives::{ENVELOPE_VERSION, SchemeId, TxBody, sha256};
use nvm_vm_bvm::{BITCOIN_TX_TAG, BvmOp, UNITS_PER_SAT};
use rayon::prelude::*;
use std::time::Instant;

/// Satoshi in each coin a measured spend takes.
const COIN: u64 = 100_000;

struct Wallet {
    key: SecretKey,
    public: CompressedPublicKey,
    script: ScriptBuf,
}

fn wallet(i: usize) -> Wallet {
    let key = SecretKey::from_slice(&sha256(format!("bench bitcoin wallet {i}").as_bytes()))
        .expect("a SHA-256 digest is a valid key but with negligible probability");
    let public = CompressedPublicKey(key.public_key(&Secp256k1::signing_only()));
    let script = ScriptBuf::new_p2wpkh(&public.wpubkey_hash());
    Wallet { key, public, script }
}

/// `from` spends `coin` (of `value` sat) into `outputs`, signed as a wallet signs P2WPKH.
fn signed_spend(
    from: &Wallet,
    coin: OutPoint,
    value: u64,
    outputs: Vec<(u64, ScriptBuf)>,
) -> Transaction {
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: coin,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs
            .into_iter()
            .map(|(v, script_pubkey)| TxOut { value: Amount::from_sat(v), script_pubkey })
            .collect(),
    };
    let sighash = SighashCache::new(&tx)
        .p2wpkh_signature_hash(0, &from.script, Amount::from_sat(value), EcdsaSighashType::All)
        .expect("a P2WPKH script");
    let signature = Secp256k1::signing_only().sign_ecdsa(&Message::from(sighash), &from.key);
    let signature = bitcoin::ecdsa::Signature { signature, sighash_type: EcdsaSighashType::All };
    tx.input[0].witness = Witness::p2wpkh(&signature, &from.public.0);
    tx
}

fn tagged(tx: &Transaction) -> Vec<u8> {
    let mut raw = vec![BITCOIN_TX_TAG];
    raw.extend(serialize(tx));
    raw
}

pub(super) fn run(args: &BenchArgs) -> Result<f64, String> {
    let (senders, block_txs) =
        super::announce(args, "P2WPKH spends (signed Bitcoin transactions, 1 input, 2 outputs)", 2);
    let per_wallet = args.txs.div_ceil(senders);
    let funder = key_of("bench bitcoin funder", 0);
    let account = GenesisAccount {
        scheme: SchemeId::Ed25519,
        public_key: funder.public_key(),
        salt: [0; 32],
        balance: 10u128.pow(26),
    };
    let funder_id = account.id_com();
    let (chain, _temp) = super::open_chain(args, &super::bench_genesis(vec![account], Vec::new()))?;

    // Not timed: one coin per wallet locked from the ledger, then each fanned out into the coins
    // its measured spends take.
    let started = Instant::now();
    let wallets: Vec<Wallet> = (0..senders).into_par_iter().map(wallet).collect();
    let fund = u64::try_from(per_wallet).unwrap_or(u64::MAX) * COIN + 1_000;
    let locks: Vec<Vec<u8>> = (0..senders)
        .map(|i| {
            let op = BvmOp::Lock {
                script_pubkey: wallets[i].script.to_bytes(),
                amount: u128::from(fund) * UNITS_PER_SAT,
            };
            let body = TxBody {
                version: ENVELOPE_VERSION,
                chain_id: DEV_CHAIN_ID,
                sender: funder_id,
                nonce: i as u64,
                max_fee: DEV_TX_FEE,
                context: None,
                payload: op.encode(),
            };
            funder.sign_transaction(body).map(|tx| tx.encode()).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let lock_txids: Vec<bitcoin::Txid> = locks
        .iter()
        .map(|raw| {
            let envelope = nvm_primitives::Transaction::decode(raw).map_err(|e| e.to_string())?;
            let BvmOp::Lock { script_pubkey, amount } = BvmOp::decode(&envelope.body.payload)?
            else {
                return Err("the bench made something other than a lock".to_string());
            };
            let sats = u64::try_from(amount / UNITS_PER_SAT).map_err(|e| e.to_string())?;
            Ok(nvm_vm_bvm::funding_transaction(&envelope.hash(), 0, sats, &script_pubkey)
                .compute_txid())
        })
        .collect::<Result<_, String>>()?;
    super::setup_block(&chain, locks, 1)?;
    let fanouts: Vec<Transaction> = (0..senders)
        .into_par_iter()
        .map(|i| {
            let outputs = (0..per_wallet).map(|_| (COIN, wallets[i].script.clone())).collect();
            signed_spend(&wallets[i], OutPoint { txid: lock_txids[i], vout: 0 }, fund, outputs)
        })
        .collect();
    super::setup_block(&chain, fanouts.iter().map(tagged).collect(), 2)?;
    println!(
        "set up {senders} wallets with {per_wallet} coins each in {:.2?} (not timed)",
        started.elapsed()
    );

    // The measured spends: spend j is wallet j % senders's coin j / senders, paying the next
    // wallet 60,000 sat and itself 39,000 in change (1,000 sat fee).
    let started = Instant::now();
    let spends: Vec<Transaction> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let (s, k) = (j % senders, j / senders);
            let coin = OutPoint {
                txid: fanouts[s].compute_txid(),
                vout: u32::try_from(k).unwrap_or(u32::MAX),
            };
            let to = wallets[(s + 1) % senders].script.clone();
            signed_spend(
                &wallets[s],
                coin,
                COIN,
                vec![(60_000, to), (39_000, wallets[s].script.clone())],
            )
        })
        .collect();
    println!("signed {} transactions in {:.2?} (not timed below)", spends.len(), started.elapsed());

    // The ceiling: Bitcoin Core's interpreter verifying every input on all cores, nothing else.
    let prevout = |s: usize| TxOut {
        value: Amount::from_sat(COIN),
        script_pubkey: wallets[s].script.clone(),
    };
    let t = Instant::now();
    let verified = (0..spends.len())
        .into_par_iter()
        .filter(|&j| nvm_vm_bvm::verify_inputs(&spends[j], &[prevout(j % senders)]).is_ok())
        .count();
    let ceiling = rate(verified, t.elapsed());
    println!(
        "Core-interpreter ceiling: {ceiling:>10.0} tx/s  ({verified} verified in {:.2?} on all cores)",
        t.elapsed()
    );

    let raws: Vec<Vec<u8>> = spends.iter().map(tagged).collect();
    let ours = pipeline::sustained(&chain, raws, block_txs, args.txs)?;
    println!(
        "P2WPKH spends: n-VM {ours:.0} tx/s (decode -> Core interpreter once per node -> coins in state -> state root -> fsync'd commit), {:.2}x the interpreter ceiling",
        ours / ceiling.max(1e-9)
    );
    Ok(ours)
}
