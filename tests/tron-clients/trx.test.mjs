// TronWeb 6, unmodified, against a real `nvm node --dev`'s Tron HTTP API: the dev mnemonic's
// first key (funded as a Tron key at genesis) sends TRX with `trx.sendTransaction`; the payee's
// balance shows in `getBalance` / `getUnconfirmedBalance`, the same value as the node's ledger
// (`nvm_getBalance`, in base units); the transaction and its info are found by id. A resent
// transaction and a forged signature are refused and move nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TronWeb } from "tronweb";
import { call, until } from "../js-common/rpc.mjs";

const TRON_URL = process.env.NVM_TRON_URL;
const RPC_URL = process.env.NVM_RPC_URL;
// Foundry's, Hardhat's and Ganache's first dev account (the standard test mnemonic's): n-VM's dev
// genesis funds its key as a Tron key too.
const DEV_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const UNITS_PER_SUN = 10n ** 12n;

const nvm = (method, params) => call(RPC_URL, method, params);


test("TronWeb sends TRX and reads it back from the ledger", async () => {
  const tronWeb = new TronWeb({ fullHost: TRON_URL, privateKey: DEV_KEY });
  const from = tronWeb.address.fromPrivateKey(DEV_KEY);
  const payee = await tronWeb.createAccount();
  const to = payee.address.base58;

  const before = await tronWeb.trx.getBalance(from);
  assert.equal(before, 10_000 * 1_000_000, "the dev key holds 10,000 TRX");
  assert.equal(await tronWeb.trx.getBalance(to), 0);
  const block = await tronWeb.trx.getCurrentBlock();
  assert.equal(typeof block.block_header.raw_data.number, "number");

  const sent = await tronWeb.trx.sendTransaction(to, 1_500_000);
  assert.equal(sent.result, true, JSON.stringify(sent));
  const txid = sent.txid ?? sent.transaction.txID;
  const info = await until("the transfer in a block", async () => {
    const found = await tronWeb.trx.getTransactionInfo(txid);
    return found.blockNumber !== undefined ? found : null;
  });
  assert.equal(info.id, txid);
  const tx = await tronWeb.trx.getTransaction(txid);
  assert.equal(tx.ret[0].contractRet, "SUCCESS");
  assert.equal(tx.raw_data.contract[0].parameter.value.amount, 1_500_000);
  const confirmed = await tronWeb.trx.getConfirmedTransaction(txid);
  assert.equal(confirmed.txID, txid);
  const inBlock = await tronWeb.trx.getBlock(info.blockNumber);
  assert.ok(inBlock.transactions.some((t) => t.txID === txid));

  // The payee holds exactly what was sent; the payer paid it and the bandwidth fee.
  assert.equal(await tronWeb.trx.getBalance(to), 1_500_000);
  assert.equal(await tronWeb.trx.getUnconfirmedBalance(to), 1_500_000);
  assert.equal(await tronWeb.trx.getBalance(from), before - 1_500_000 - (info.fee ?? 0));
  assert.ok(info.fee > 0, "a transfer pays its bandwidth");
  // The same value the ledger holds for the payee's identity, in base units.
  const ledger = await nvm("nvm_getBalance", [to]);
  assert.equal(BigInt(ledger.balance), 1_500_000n * UNITS_PER_SUN);

  // Built and signed by TronWeb, then sent twice: the second is refused, nothing moves twice.
  const unsigned = await tronWeb.transactionBuilder.sendTrx(to, 7, from);
  const signed = await tronWeb.trx.sign(unsigned);
  const first = await tronWeb.trx.sendRawTransaction(signed);
  assert.equal(first.result, true, JSON.stringify(first));
  const again = await tronWeb.trx.sendRawTransaction(signed);
  assert.notEqual(again.result, true, JSON.stringify(again));
  await until("the second transfer in a block", async () => (await tronWeb.trx.getTransactionInfo(first.txid)).blockNumber !== undefined);
  assert.equal(await tronWeb.trx.getBalance(to), 1_500_007);

  // A signature that is not the owner's (one byte of r changed): refused by name (java-tron's
  // SIGERROR, its message hex), nothing moves.
  const genuine = await tronWeb.trx.sign(await tronWeb.transactionBuilder.sendTrx(to, 9, from));
  const r0 = genuine.signature[0].slice(0, 2) === "01" ? "02" : "01";
  const forged = { ...genuine, signature: [r0 + genuine.signature[0].slice(2)] };
  const refused = await tronWeb.trx.sendRawTransaction(forged);
  assert.notEqual(refused.result, true, JSON.stringify(refused));
  assert.equal(refused.code, "SIGERROR", JSON.stringify(refused));
  assert.match(Buffer.from(refused.message, "hex").toString(), /signature|signer/i);
  assert.equal(await tronWeb.trx.getUnconfirmedBalance(to), 1_500_007);
});
