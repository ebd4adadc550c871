//! `nvm identity link-evm | link-sol | link-btc | link-tron | link-message`: linking a wallet's key to an identity.
//! Both keys consent: the identity's key signs the transaction, the wallet's key the link message.

use crate::{
    RpcArgs,
    client::Client,
    commands::{decode_hex, report},
    keyfile::KeyFile,
};
use nvm_primitives::Mint;
use nvm_vm_native::NativeOp;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct LinkMessageArgs {
    /// The identity's key.
    #[arg(long)]
    key: PathBuf,
    /// The message a Solana key signs (else an Ethereum account's).
    #[arg(long, conflicts_with_all = ["bitcoin", "tron"])]
    solana: bool,
    /// The message a Bitcoin key signs.
    #[arg(long, conflicts_with = "tron")]
    bitcoin: bool,
    /// The message a Tron key signs (with TronWeb's signMessageV2).
    #[arg(long)]
    tron: bool,
    #[command(flatten)]
    rpc: RpcArgs,
}

#[derive(clap::Args)]
pub struct LinkEvmArgs {
    /// The identity's key.
    #[arg(long)]
    key: PathBuf,
    /// The Ethereum account (0x…, 20 bytes).
    #[arg(long)]
    address: String,
    /// Its EIP-191 signature of the link message (0x…, 65 bytes)...
    #[arg(long, conflicts_with = "evm_secret")]
    signature: Option<String>,
    /// ...or its secret key (0x…, 32 bytes), to sign the message here.
    #[arg(long)]
    evm_secret: Option<String>,
    /// A token (0x-hex or base58 mint id) whose balance the account holds and that moves to the
    /// identity with its native balance; repeat for each.
    #[arg(long = "mint")]
    mints: Vec<String>,
    #[command(flatten)]
    rpc: RpcArgs,
}

#[derive(clap::Args)]
pub struct LinkSolArgs {
    /// The identity's key.
    #[arg(long)]
    key: PathBuf,
    /// The Solana public key (base58).
    #[arg(long)]
    sol_key: String,
    /// Its Ed25519 signature of the link message (base58, or 0x-hex; 64 bytes)...
    #[arg(long, conflicts_with = "sol_keypair")]
    signature: Option<String>,
    /// ...or its keypair file (the Solana CLI's JSON array of 64 bytes), to sign here.
    #[arg(long)]
    sol_keypair: Option<PathBuf>,
    /// A token (0x-hex or base58 mint id) whose balance the key holds and that moves to the
    /// identity with its lamports; repeat for each.
    #[arg(long = "mint")]
    mints: Vec<String>,
    #[command(flatten)]
    rpc: RpcArgs,
}

#[derive(clap::Args)]
pub struct LinkBtcArgs {
    /// The identity's key.
    #[arg(long)]
    key: PathBuf,
    /// The Bitcoin public key (hex, 33 bytes compressed).
    #[arg(long)]
    btc_key: String,
    /// Its message signature of the link message (BIP-137: base64 as wallets show it, or
    /// 0x-hex; 65 bytes).
    #[arg(long)]
    signature: String,
    /// A token (0x-hex or base58 mint id) held at one of the key's addresses that moves to the
    /// identity with its coins; repeat for each (tokens sent there are found without it).
    #[arg(long = "mint")]
    mints: Vec<String>,
    #[command(flatten)]
    rpc: RpcArgs,
}

#[derive(clap::Args)]
pub struct LinkTronArgs {
    /// The identity's key.
    #[arg(long)]
    key: PathBuf,
    /// The Tron address (T… base58check).
    #[arg(long)]
    address: String,
    /// Its TronWeb `signMessageV2` signature of the link message (0x…, 65 bytes).
    #[arg(long)]
    signature: String,
    /// A token (0x-hex or base58 mint id) whose balance the address holds and that moves to the
    /// identity with its TRX; repeat for each.
    #[arg(long = "mint")]
    mints: Vec<String>,
    #[command(flatten)]
    rpc: RpcArgs,
}

pub fn link_tron(args: LinkTronArgs) -> Result<(), String> {
    let file = KeyFile::load(&args.key)?;
    let client = Client::new(&args.rpc.rpc)?;
    let Some(address) = nvm_identity::VmAddress::parse(&args.address).ok().and_then(|a| a.tvm())
    else {
        return Err(format!("--address must be a Tron address (T…), got {:?}", args.address));
    };
    let signature = decode_hex(&args.signature, "--signature")?;
    // The same check the node makes, so that a wrong signature fails here with its reason.
    nvm_identity::verify_tron_link(client.chain_id()?, &file.id_com(), &address, &signature)
        .map_err(|e| e.to_string())?;
    let mints = parse_mints(&args.mints)?;
    let op = NativeOp::LinkTronKey { address, signature, mints };
    let receipt = client.send(&file, file.id_com(), &op, true)?;
    report(args.rpc.json, &receipt)
}

pub fn link_btc(args: LinkBtcArgs) -> Result<(), String> {
    use base64::Engine;
    let file = KeyFile::load(&args.key)?;
    let client = Client::new(&args.rpc.rpc)?;
    let public_key = hex::decode(args.btc_key.trim_start_matches("0x"))
        .map_err(|e| format!("--btc-key: not hex: {e}"))?;
    let signature = if args.signature.starts_with("0x") {
        decode_hex(&args.signature, "--signature")?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(args.signature.trim())
            .map_err(|e| format!("--signature: neither 0x-hex nor base64: {e}"))?
    };
    let mints = parse_mints(&args.mints)?;
    let op = nvm_vm_bvm::BvmOp::LinkKey { public_key, signature, mints };
    // The same checks the node makes, so that a typo fails here with its reason.
    nvm_vm_bvm::BvmOp::decode(&op.encode())?;
    let receipt = client.send_payload(&file, file.id_com(), op.encode(), true)?;
    report(args.rpc.json, &receipt)
}

/// Bytes given as 0x-hex or base58 (how Solana tools show keys, mints and signatures).
fn decode_hex_or_base58(text: &str, what: &str) -> Result<Vec<u8>, String> {
    if text.starts_with("0x") {
        decode_hex(text, what)
    } else {
        bs58::decode(text).into_vec().map_err(|e| format!("{what}: {e}"))
    }
}

/// A 32-byte id given as 0x-hex or base58.
fn parse_id32(text: &str, what: &str) -> Result<[u8; 32], String> {
    let bytes = decode_hex_or_base58(text, what)?;
    bytes.try_into().map_err(|_| format!("{what} must be 32 bytes, got {text:?}"))
}

fn parse_mints(texts: &[String]) -> Result<Vec<Mint>, String> {
    texts.iter().map(|t| parse_id32(t, "--mint")).collect()
}

pub fn message(args: LinkMessageArgs) -> Result<(), String> {
    let id = KeyFile::load(&args.key)?.id_com();
    let chain_id = Client::new(&args.rpc.rpc)?.chain_id()?;
    if args.solana {
        println!("{}", nvm_identity::svm_link_message(chain_id, &id));
    } else if args.bitcoin {
        println!("{}", nvm_identity::btc_link_message(chain_id, &id));
    } else if args.tron {
        println!("{}", nvm_identity::tron_link_message(chain_id, &id));
    } else {
        println!("{}", nvm_identity::evm_link_message(chain_id, &id));
    }
    Ok(())
}

pub fn link_evm(args: LinkEvmArgs) -> Result<(), String> {
    let file = KeyFile::load(&args.key)?;
    let client = Client::new(&args.rpc.rpc)?;
    let address: alloy_primitives::Address = args
        .address
        .parse()
        .map_err(|_| format!("--address must be 0x + 40 hex digits, got {:?}", args.address))?;
    let signature = match (args.signature, args.evm_secret) {
        (Some(hex_sig), _) => decode_hex(&hex_sig, "--signature")?,
        (None, Some(secret)) => {
            let secret: [u8; 32] = decode_hex(&secret, "--evm-secret")?
                .try_into()
                .map_err(|_| "--evm-secret must be 32 bytes")?;
            let signer = alloy_signer_local::PrivateKeySigner::from_bytes(&secret.into())
                .map_err(|e| format!("--evm-secret: {e}"))?;
            let message = nvm_identity::evm_link_message(client.chain_id()?, &file.id_com());
            alloy_signer::SignerSync::sign_message_sync(&signer, message.as_bytes())
                .map_err(|e| e.to_string())?
                .as_bytes()
                .to_vec()
        }
        (None, None) => return Err("give --signature or --evm-secret".into()),
    };
    let mints = parse_mints(&args.mints)?;
    let op = NativeOp::LinkEvmAccount { address: address.into_array(), signature, mints };
    let receipt = client.send(&file, file.id_com(), &op, true)?;
    report(args.rpc.json, &receipt)
}

pub fn link_sol(args: LinkSolArgs) -> Result<(), String> {
    let file = KeyFile::load(&args.key)?;
    let client = Client::new(&args.rpc.rpc)?;
    let key = parse_id32(&args.sol_key, "--sol-key")?;
    let signature = match (args.signature, args.sol_keypair) {
        (Some(text), _) => decode_hex_or_base58(&text, "--signature")?,
        (None, Some(path)) => {
            let keypair = read_solana_keypair(&path)?;
            if keypair.verifying_key().to_bytes() != key {
                return Err(format!("{} is not the keypair of {}", path.display(), args.sol_key));
            }
            let message = nvm_identity::svm_link_message(client.chain_id()?, &file.id_com());
            ed25519_dalek::Signer::sign(&keypair, message.as_bytes()).to_bytes().to_vec()
        }
        (None, None) => return Err("give --signature or --sol-keypair".into()),
    };
    let mints = parse_mints(&args.mints)?;
    let op = NativeOp::LinkSolanaKey { key, signature, mints };
    let receipt = client.send(&file, file.id_com(), &op, true)?;
    report(args.rpc.json, &receipt)
}

/// A Solana CLI keypair file: a JSON array of 64 bytes, the secret seed then the public key.
fn read_solana_keypair(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON array of bytes: {e}", path.display()))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| format!("{}: a Solana keypair is 64 bytes", path.display()))?;
    ed25519_dalek::SigningKey::from_keypair_bytes(&bytes)
        .map_err(|_| format!("{}: its public half does not match its secret", path.display()))
}
