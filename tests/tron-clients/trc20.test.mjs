// TronWeb 6 and solc-js, unmodified, against a real `nvm node --dev`'s Tron HTTP API: a TRC-20
// compiled from Trc20.sol is deployed with `contract().new` (built and signed by TronWeb, its energy
// paid from feeLimit), loaded with `contract().at` (the node's `getcontract`: code and ABI), read
// with `.call()` (`triggerconstantcontract`) and moved with `.send()` (`triggersmartcontract`,
// which TronWeb re-encodes and checks byte for byte before signing); a transfer beyond the balance
// reverts and changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import solc from "solc";
import { TronWeb } from "tronweb";
import { until } from "../js-common/rpc.mjs";

const TRON_URL = process.env.NVM_TRON_URL;
// The standard dev mnemonic's second key (the first is trx.test.mjs's), funded as a Tron key by the
// dev genesis.
const DEV_KEY = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

function compile() {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), "Trc20.sol");
  const input = {
    language: "Solidity",
    sources: { "Trc20.sol": { content: fs.readFileSync(file, "utf8") } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  assert.equal(errors.length, 0, errors.map((e) => e.formattedMessage).join("\n"));
  const contract = output.contracts["Trc20.sol"].Trc20;
  return { abi: contract.abi, bytecode: contract.evm.bytecode.object };
}


test("a TRC-20 compiled with solc-js is deployed, read and moved with TronWeb", { timeout: 120_000 }, async () => {
  const tronWeb = new TronWeb({ fullHost: TRON_URL, privateKey: DEV_KEY });
  const from = tronWeb.address.fromPrivateKey(DEV_KEY);
  const to = (await tronWeb.createAccount()).address.base58;
  const { abi, bytecode } = compile();
  const before = await tronWeb.trx.getBalance(from);

  const deployed = await tronWeb.contract().new({ abi, bytecode, feeLimit: 1_000_000_000, parameters: [1_000_000] });
  const address = deployed.address;
  const token = await until("the deployment", async () => {
    try {
      return await tronWeb.contract().at(address);
    } catch {
      return null;
    }
  });
  assert.equal(await token.symbol().call(), "TT");
  assert.equal(Number(await token.decimals().call()), 6);
  assert.equal(BigInt(await token.balanceOf(from).call()), 1_000_000n);

  const txid = await token.transfer(to, 250).send({ feeLimit: 100_000_000 });
  const info = await until("the transfer in a block", async () => {
    const found = await tronWeb.trx.getTransactionInfo(txid);
    return found.blockNumber !== undefined ? found : null;
  });
  assert.ok(info.receipt.energy_usage_total > 21_000, JSON.stringify(info));
  assert.equal(BigInt(await token.balanceOf(to).call()), 250n);
  assert.equal(BigInt(await token.balanceOf(from).call()), 999_750n);
  // Energy and bandwidth were paid in TRX by the sender.
  assert.ok((await tronWeb.trx.getBalance(from)) < before);

  // With TronWeb waiting for the result: it reads the call's return value from the node.
  assert.equal(await token.transfer(to, 1).send({ feeLimit: 100_000_000, shouldPollResponse: true }), true);
  assert.equal(BigInt(await token.balanceOf(to).call()), 251n);

  // More than the sender holds: the simulated call reverts with the contract's reason, and a
  // sent one reverts in its block, moving nothing.
  const other = await tronWeb.createAccount();
  const parameters = [{ type: "address", value: from }, { type: "uint256", value: 5 }];
  const simulate = tronWeb.transactionBuilder.triggerConstantContract(address, "transfer(address,uint256)", {}, parameters, other.address.hex);
  await assert.rejects(simulate, /REVERT opcode executed/);
  assert.equal(BigInt(await token.balanceOf(to).call()), 251n);
});
