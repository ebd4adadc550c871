// TronWeb 6, unmodified, moving a ledger token as a TRC-10 asset: a token n-VM's CLI created
// (NVM_LEDGER_TOKEN, 0x-hex mint) is listed with its numeric id (`listTokens`, `getTokenByID`),
// held in `assetV2`, sent with `trx.sendToken` (a TransferAssetContract TronWeb builds and signs
// itself) and with its TRC-20 view (`contract().at`, `.send()`) — and the recipient's balance is the same one its identity's ERC-20 `balanceOf` (Ethereum
// JSON-RPC) and SPL token account (Solana JSON-RPC) show in one block. A send beyond the balance, or
// of an asset that does not exist, is refused and moves nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { TronWeb, utils } from "tronweb";
import { call, until } from "../js-common/rpc.mjs";

const TRON_URL = process.env.NVM_TRON_URL;
const RPC_URL = process.env.NVM_RPC_URL;
const SOLANA_URL = process.env.NVM_SOLANA_RPC_URL;
const MINT = process.env.NVM_LEDGER_TOKEN;
// The standard dev mnemonic's third key, to which the dev identity sent 5,000 units of the token.
const DEV_KEY = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// The token's ERC-20 view: SHA-256("erc20-addr:" ‖ mint)[12..32].
function erc20View(mint) {
  const digest = crypto.createHash("sha256").update("erc20-addr:").update(Buffer.from(mint.slice(2), "hex")).digest();
  return "0x" + digest.subarray(12).toString("hex");
}

/// What `holder` (0x EVM address) holds of the token, by its ERC-20 view, at block `height`.
async function erc20Balance(holder, height) {
  const data = "0x70a08231" + holder.slice(2).padStart(64, "0");
  const tag = "0x" + height.toString(16);
  return BigInt(await call(RPC_URL, "eth_call", [{ to: erc20View(MINT), data }, tag]));
}

/// What `owner` (base58 Solana address) holds of the token in SPL token accounts, and the slot read.
async function splBalance(owner) {
  const mint = utils.base58.encode58(Buffer.from(MINT.slice(2), "hex"));
  const found = await call(SOLANA_URL, "getTokenAccountsByOwner", [owner, { mint }, { encoding: "jsonParsed" }]);
  const amounts = found.value.map((a) => BigInt(a.account.data.parsed.info.tokenAmount.amount));
  return { slot: found.context.slot, amount: amounts.reduce((a, b) => a + b, 0n) };
}

/// `assetV2` of an account, as a map from id to amount.
async function assets(tronWeb, address) {
  const account = await tronWeb.trx.getUnconfirmedAccount(address);
  return Object.fromEntries((account.assetV2 ?? []).map(({ key, value }) => [key, value]));
}

test("a ledger token moves as a TRC-10 asset with TronWeb's sendToken", { timeout: 120_000 }, async () => {
  const tronWeb = new TronWeb({ fullHost: TRON_URL, privateKey: DEV_KEY });
  const from = tronWeb.address.fromPrivateKey(DEV_KEY);
  const to = (await tronWeb.createAccount()).address.base58;

  const listed = await tronWeb.trx.listTokens();
  const gold = listed.find((token) => token.name === "Gold");
  assert.ok(gold, JSON.stringify(listed));
  const id = gold.id;
  assert.ok(Number(id) >= 1_000_001, id);
  const token = await tronWeb.trx.getTokenByID(id);
  assert.equal(token.abbr, "GLD");
  assert.equal(token.precision, 6);
  await assert.rejects(tronWeb.trx.getTokenByID("1000000"), /Token does not exist/);
  assert.equal((await assets(tronWeb, from))[id], 5_000);

  const sent = await tronWeb.trx.sendToken(to, 1_200, id);
  assert.equal(sent.result, true, JSON.stringify(sent));
  const info = await until("the TRC-10 transfer in a block", async () => {
    const found = await tronWeb.trx.getTransactionInfo(sent.txid);
    return found.blockNumber !== undefined ? found : null;
  });
  assert.ok(info.fee > 0, "the bandwidth is paid in TRX");
  assert.equal((await assets(tronWeb, to))[id], 1_200);
  assert.equal((await assets(tronWeb, from))[id], 3_800);

  // One balance, every view: the recipient's identity's ERC-20 balance and SPL token account.
  const identity = await call(RPC_URL, "nvm_getIdentity", [to]);
  const spl = await splBalance(identity.svm_display);
  assert.equal(spl.amount, 1_200n);
  assert.equal(await erc20Balance(identity.evm_display, spl.slot), 1_200n);

  // The same token as a TRC-20 (its ERC-20 view in Tron form): loaded with `contract().at`, moved
  // with `.send()`, and the move shows in the TRC-10 balances too.
  const trc20 = await tronWeb.contract().at(tronWeb.address.fromHex("41" + erc20View(MINT).slice(2)));
  assert.equal(BigInt(await trc20.balanceOf(to).call()), 1_200n);
  const moved = await trc20.transfer(to, 300).send({ feeLimit: 100_000_000, shouldPollResponse: true });
  assert.equal(moved, true);
  assert.equal((await assets(tronWeb, to))[id], 1_500);
  assert.equal((await assets(tronWeb, from))[id], 3_500);

  // Refused, nothing moved: more than the sender holds; an asset that does not exist.
  for (const [amount, asset, reason] of [
    [3_501, id, /balance is not sufficient/],
    [1, String(Number(id) + 1000), /no TRC-10 asset/],
  ]) {
    const refused = await tronWeb.trx.sendToken(to, amount, asset);
    assert.equal(refused.code, "CONTRACT_VALIDATE_ERROR", JSON.stringify(refused));
    assert.match(Buffer.from(refused.message, "hex").toString(), reason);
  }
  assert.equal((await assets(tronWeb, from))[id], 3_500);
});
