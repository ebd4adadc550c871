// ethers v6, unmodified, against a real `nvm node --dev`: deploys and calls Solidity contracts with
// EIP-1559 transactions, reads receipts and logs, and checks balances through n-VM's own RPC.
// Needs NVM_RPC_URL and NVM_ARTIFACTS (written by compile.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Mnemonic, Transaction, Wallet, ethers } from "ethers";

import { within, rpcErrorOf } from "../js-common/rpc.mjs";

const url = process.env.NVM_RPC_URL;
const artifacts = JSON.parse(fs.readFileSync(process.env.NVM_ARTIFACTS, "utf8"));
// ethers caches identical requests for 250 ms by default, longer than a dev block: a nonce read
// for one transaction would be reused for the next, as against any fast dev chain (anvil too).
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
provider.pollingInterval = 100;
const phrase = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const account = (i) => HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${i}`).connect(provider);
const deployer = account(0);
const other = account(2);

// Every wait has a deadline (blocks take 200 ms here) and every test a limit of its own, so that
// a node that stops including transactions fails the step that waited, by name, and never hangs.
const WAIT_MS = 30_000;

/// A sent transaction's receipt (failing if it reverted, as `wait()` does), within WAIT_MS.
/// ethers gets a deadline of its own a second later: past it, it stops polling for the receipt.
const mined = (tx, what) => within(WAIT_MS, `receipt of ${what} ${tx.hash}`, tx.wait(1, WAIT_MS + 1000));

/// The receipt of a transaction hash, reverted or not, within WAIT_MS.
const receiptOf = (hash, what) =>
  within(WAIT_MS, `receipt of ${what} ${hash}`, provider.waitForTransaction(hash, 1, WAIT_MS + 1000));

/// The JSON-RPC error of a call that must fail.
const rpcError = (method, params) => rpcErrorOf(provider, method, params);

/// Ledger balance of an EVM address, through n-VM's own namespace.
async function ledgerBalance(address) {
  return BigInt((await provider.send("nvm_getBalance", [address])).balance);
}

test("chain facts as Ethereum tools read them", { timeout: 120_000 }, async () => {
  const network = await provider.getNetwork();
  assert.equal(network.chainId, 31337n);
  const block = await provider.getBlock("latest");
  assert.ok(block.baseFeePerGas > 0n, "blocks carry an EIP-1559 base fee");
  const fees = await provider.getFeeData();
  assert.ok(fees.maxFeePerGas >= block.baseFeePerGas);
  const history = await provider.send("eth_feeHistory", ["0x4", "latest", [50]]);
  assert.equal(history.baseFeePerGas.length, history.gasUsedRatio.length + 1);
  assert.equal(await provider.getBalance(deployer.address), await ledgerBalance(deployer.address));
});

test("a value transfer moves the ledger balance and charges gas at the effective price", { timeout: 120_000 }, async () => {
  const before = await provider.getBalance(deployer.address);
  const otherBefore = await provider.getBalance(other.address);
  const tx = await deployer.sendTransaction({ to: other.address, value: ethers.parseEther("1.5") });
  const receipt = await mined(tx, "the 1.5 ETH transfer");
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 2);
  assert.equal(receipt.gasUsed, 21000n);
  const fee = receipt.gasUsed * receipt.gasPrice;
  assert.equal(await provider.getBalance(deployer.address), before - ethers.parseEther("1.5") - fee);
  assert.equal(await ledgerBalance(other.address), otherBefore + ethers.parseEther("1.5"));
  // Blocks are committed only once consensus finalized them: the receipt's block is already
  // `finalized` (and `safe`), as ethers asks for it.
  for (const tag of ["finalized", "safe"]) {
    const final = await provider.getBlock(tag);
    assert.ok(final.number >= receipt.blockNumber, `${tag} block ${final.number} < ${receipt.blockNumber}`);
    assert.equal((await provider.getBlock(receipt.blockNumber)).hash, receipt.blockHash);
  }
  const seen = await provider.getTransaction(tx.hash);
  assert.equal(seen.from, deployer.address);
  assert.equal(seen.blockNumber, receipt.blockNumber);
});

test("deploys a Solidity ERC-20 and a transferFrom vault, calls them, reads receipts and logs", { timeout: 120_000 }, async () => {
  const { Token, Vault } = artifacts;
  const token = await new ContractFactory(Token.abi, Token.bytecode, deployer).deploy("Test", "TST", ethers.parseEther("1000"));
  const deployment = await mined(token.deploymentTransaction(), "the Token deployment");
  assert.equal(deployment.status, 1);
  assert.equal(deployment.contractAddress, await token.getAddress());
  assert.ok((await provider.getCode(await token.getAddress())).length > 2);
  assert.equal(await token.symbol(), "TST");
  assert.equal(await token.balanceOf(deployer.address), ethers.parseEther("1000"));

  const sent = await mined(await token.transfer(other.address, 1234n), "the transfer of 1234 TST");
  const [transfer] = sent.logs.map((log) => token.interface.parseLog(log));
  assert.equal(transfer.name, "Transfer");
  assert.deepEqual([transfer.args.from, transfer.args.to, transfer.args.value], [deployer.address, other.address, 1234n]);
  assert.equal(await token.balanceOf(other.address), 1234n);
  // The block's bloom covers its receipts' (what log indexers test blocks with).
  const header = await provider.send("eth_getBlockByNumber", [ethers.toQuantity(sent.blockNumber), false]);
  const [blockBloom, receiptBloom] = [BigInt(header.logsBloom), BigInt(sent.logsBloom)];
  assert.ok(receiptBloom !== 0n && (blockBloom & receiptBloom) === receiptBloom);

  const vault = await new ContractFactory(Vault.abi, Vault.bytecode, deployer).deploy(await token.getAddress());
  // What `waitForDeployment()` waits for, with a deadline.
  await mined(vault.deploymentTransaction(), "the Vault deployment");
  await mined(await token.approve(await vault.getAddress(), 500n), "the approval of 500 TST to the vault");
  const deposited = await mined(await vault.deposit(500n), "the vault deposit of 500 TST");
  assert.equal(deposited.status, 1);
  assert.equal(await vault.deposited(deployer.address), 500n);
  assert.equal(await token.balanceOf(await vault.getAddress()), 500n);

  const logs = await provider.getLogs({
    address: await token.getAddress(),
    topics: [token.interface.getEvent("Transfer").topicHash],
    fromBlock: deployment.blockNumber,
    toBlock: "latest",
  });
  assert.deepEqual(logs.map((l) => token.interface.parseLog(l).args.value), [ethers.parseEther("1000"), 1234n, 500n]);
  assert.deepEqual(new Set(logs.map((l) => l.transactionHash)).size, 3);

  // A revert: eth_call reports the custom error, and a mined revert still pays its gas.
  await assert.rejects(token.transfer.staticCall(other.address, ethers.parseEther("5000")), (e) => {
    assert.equal(e.code, "CALL_EXCEPTION");
    assert.equal(e.revert?.name, "InsufficientBalance");
    return true;
  });
  const balance = await provider.getBalance(deployer.address);
  const failing = await token.transfer(other.address, ethers.parseEther("5000"), { gasLimit: 100000n });
  const failed = await receiptOf(failing.hash, "the reverting transfer of 5000 TST");
  assert.equal(failed.status, 0);
  assert.equal(await provider.getBalance(deployer.address), balance - failed.gasUsed * failed.gasPrice);
  assert.equal(await token.balanceOf(other.address), 1234n);
});

test("bad input gets a clear error and changes nothing", { timeout: 120_000 }, async () => {
  const nonce = await provider.getTransactionCount(deployer.address);
  const balance = await provider.getBalance(deployer.address);
  const fees = await provider.getFeeData();
  const base = { to: other.address, value: 1n, gasLimit: 21000n, nonce, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, chainId: 31337n, type: 2 };
  const sign = (fields, wallet = deployer) => wallet.signTransaction(fields);

  const malformed = await rpcError("eth_sendRawTransaction", ["0x02f8deadbeef"]);
  assert.equal(malformed.code, -32001);
  assert.match(malformed.message, /malformed Ethereum transaction/);

  const wrongChain = await rpcError("eth_sendRawTransaction", [await sign({ ...base, chainId: 1n })]);
  assert.equal(wrongChain.code, -32006);

  const underpriced = await rpcError("eth_sendRawTransaction", [await sign({ ...base, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })]);
  assert.equal(underpriced.code, -32010);
  assert.match(underpriced.message, /max fee per gas less than block base fee/);

  const broke = Wallet.createRandom();
  const overdraft = await rpcError("eth_sendRawTransaction", [await sign({ ...base, nonce: 0 }, broke)]);
  assert.equal(overdraft.code, -32004);
  assert.match(overdraft.message, /insufficient funds/);

  const initCode = "0x" + "00".repeat(49153);
  const oversized = await rpcError("eth_sendRawTransaction", [await sign({ ...base, to: null, value: 0n, data: initCode, gasLimit: 5000000n })]);
  assert.match(oversized.message, /max initcode size exceeded/);

  assert.equal(await provider.getTransactionCount(deployer.address), nonce);
  assert.equal(await provider.getBalance(deployer.address), balance);

  // Replay: the same signed bytes, once mined, are refused.
  const raw = await sign(base);
  const hash = await provider.send("eth_sendRawTransaction", [raw]);
  await receiptOf(hash, "the transfer sent as raw bytes");
  const replay = await rpcError("eth_sendRawTransaction", [raw]);
  assert.equal(replay.code, -32003);
  assert.match(replay.message, /nonce too low/);
  assert.equal(Transaction.from(raw).hash, hash);
});

const ERC20_ABI = [
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function totalSupply() view returns (uint256)",
  "function balanceOf(address) view returns (uint256)",
  "function allowance(address, address) view returns (uint256)",
  "function transfer(address, uint256) returns (bool)",
  "function approve(address, uint256) returns (bool)",
  "function transferFrom(address, address, uint256) returns (bool)",
  "function transferToVmAddress(bytes32, uint256) returns (bool)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event Approval(address indexed owner, address indexed spender, uint256 value)",
];

/// SPEC §3: a mint's ERC-20 view answers at SHA-256("erc20-addr:" ‖ mint)[12..32].
function erc20Address(mint) {
  return ethers.getAddress(ethers.dataSlice(ethers.sha256(ethers.concat([ethers.toUtf8Bytes("erc20-addr:"), mint])), 12));
}

async function ledgerTokenBalance(address, mint) {
  return BigInt((await provider.send("nvm_getBalance", [address, mint])).balance);
}

test("every ledger token is an ERC-20 over the same balances, usable from Solidity", { timeout: 120_000 }, async () => {
  const mint = process.env.NVM_LEDGER_TOKEN;
  const gold = new ethers.Contract(erc20Address(mint), ERC20_ABI, deployer);
  assert.ok((await provider.getCode(await gold.getAddress())).length > 2, "the view is a contract to tools");
  assert.deepEqual([await gold.name(), await gold.symbol(), await gold.decimals()], ["Gold", "GLD", 6n]);
  assert.equal(await gold.totalSupply(), 1000_000000n);
  assert.equal(await gold.balanceOf(deployer.address), 100_000000n);
  assert.equal(await ledgerTokenBalance(deployer.address, mint), 100_000000n);

  // transfer: one ledger write per side, an ERC-20 Transfer log from the view's address.
  const receipt = await mined(await gold.transfer(other.address, 5_000000n), "the transfer of 5 GLD");
  const [log] = receipt.logs.map((l) => gold.interface.parseLog(l));
  assert.equal(receipt.logs[0].address, await gold.getAddress());
  assert.deepEqual([log.name, log.args.from, log.args.to, log.args.value], ["Transfer", deployer.address, other.address, 5_000000n]);
  assert.equal(await ledgerTokenBalance(other.address, mint), 5_000000n);
  assert.equal(await ledgerTokenBalance(deployer.address, mint), 95_000000n);

  // A Solidity vault pulls the ledger token with transferFrom.
  const { Vault } = artifacts;
  const vault = await new ContractFactory(Vault.abi, Vault.bytecode, deployer).deploy(await gold.getAddress());
  // What `waitForDeployment()` waits for, with a deadline.
  await mined(vault.deploymentTransaction(), "the Vault deployment");
  const approval = await mined(await gold.approve(await vault.getAddress(), 20_000000n), "the approval of 20 GLD to the vault");
  assert.equal(gold.interface.parseLog(approval.logs[0]).name, "Approval");
  assert.equal(await gold.allowance(deployer.address, await vault.getAddress()), 20_000000n);
  assert.equal((await mined(await vault.deposit(20_000000n), "the vault deposit of 20 GLD")).status, 1);
  assert.equal(await ledgerTokenBalance(await vault.getAddress(), mint), 20_000000n);
  assert.equal(await ledgerTokenBalance(deployer.address, mint), 75_000000n);
  assert.equal(await gold.allowance(deployer.address, await vault.getAddress()), 0n);

  // To another VM's address of an identity: its Tron address (20 bytes) and SVM address (32).
  const dev = await provider.send("nvm_getIdentity", [process.env.NVM_DEV_EVM]);
  const devBefore = await ledgerTokenBalance(process.env.NVM_DEV_EVM, mint);
  await mined(await gold.transfer("0x" + dev.tvm.replace(/^0x/, ""), 1_000000n), "the transfer of 1 GLD to the Tron address");
  await mined(await gold.transferToVmAddress("0x" + dev.svm.replace(/^0x/, ""), 2_000000n), "the transfer of 2 GLD to the SVM address");
  assert.equal(await ledgerTokenBalance(dev.svm_display, mint), devBefore + 3_000000n);

  // Overdraft: the call reverts with the reason, and a mined one changes no ledger balance.
  await assert.rejects(gold.transfer.staticCall(other.address, 10n ** 18n), /transfer amount exceeds balance/);
  const failing = await gold.transfer(other.address, 10n ** 18n, { gasLimit: 100000n });
  assert.equal((await receiptOf(failing.hash, "the overdrawing GLD transfer")).status, 0);
  assert.equal(await ledgerTokenBalance(deployer.address, mint), 72_000000n);

  // The CLI's native transfer that funded the deployer shows as the view's ERC-20 Transfer event,
  // beside the events the view emitted itself: one event history per token, whichever VM moved it.
  const received = await gold.queryFilter(gold.filters.Transfer(null, deployer.address), 0, "latest");
  assert.deepEqual(received.map((e) => [e.args.from, e.args.value]), [[ethers.getAddress(process.env.NVM_DEV_EVM), 100_000000n]]);
  const sent = await gold.queryFilter(gold.filters.Transfer(deployer.address), 0, "latest");
  assert.equal(sent.length, 4, "to other, to the vault, to the Tron and the SVM address");

  // The native token has its view too: its balances are the accounts' ETH balances.
  const native = new ethers.Contract(erc20Address(ethers.ZeroHash), ERC20_ABI, deployer);
  assert.equal(await native.balanceOf(other.address), await provider.getBalance(other.address));
  assert.equal(await native.decimals(), 18n);
});

test("an Ethereum account linked to an identity (personal_sign, as MetaMask signs) spends its balance", { timeout: 120_000 }, async () => {
  const wallet = account(4);
  // The CLI gives up on a receipt after 30 s itself; the timeout kills it should it hang anyway.
  const nvm = (...args) => {
    try {
      return execFileSync(process.env.NVM_BIN, args, { env: { ...process.env, NVM_RPC: url }, timeout: 60_000 }).toString().trim();
    } catch (e) {
      throw e.code === "ETIMEDOUT" ? new Error(`nvm ${args.slice(0, 2).join(" ")}: not done within 60 s`) : e;
    }
  };
  const devEvm = process.env.NVM_DEV_EVM;
  const held = await provider.getBalance(devEvm);
  const own = await provider.getBalance(wallet.address);
  const message = nvm("identity", "link-message", "--key", process.env.NVM_DEV_KEY);
  const signature = await wallet.signMessage(message);
  nvm("identity", "link-evm", "--key", process.env.NVM_DEV_KEY, "--address", wallet.address, "--signature", signature);
  // One identity now: the account's own 10,000 NVM joined it, and both addresses show the sum
  // (less the link's flat fee, which the dev identity also collects as proposer).
  const joined = await provider.getBalance(devEvm);
  assert.equal(await provider.getBalance(wallet.address), joined);
  assert.equal(joined, held + own);

  const receipt = await mined(await wallet.sendTransaction({ to: other.address, value: 1n }), "the linked account's transfer");
  const block = await provider.getBlock(receipt.blockNumber);
  // The sender is the identity; as the dev chain's proposer it gets the tip back: only the
  // burned base fee and the value leave it.
  assert.equal(await provider.getBalance(devEvm), joined - 1n - receipt.gasUsed * block.baseFeePerGas);

  // A second link of the same account is refused, with the reason.
  assert.throws(() => nvm("identity", "link-evm", "--key", process.env.NVM_DEV_KEY, "--address", wallet.address, "--signature", signature), /already belongs/);
});

test("eth_call with state overrides (code, balance, storage) changes nothing on chain", { timeout: 120_000 }, async () => {
  const stranger = Wallet.createRandom().address;
  // Code returning 42, placed at an empty address for this call only.
  const code = "0x602a60005260206000f3";
  const overridden = await provider.send("eth_call", [{ to: stranger, data: "0x" }, "latest", { [stranger]: { code } }]);
  assert.equal(BigInt(overridden), 42n);
  assert.equal(await provider.getCode(stranger), "0x");
  // A balance override is the ledger balance the native ERC-20 view reads.
  const native = new ethers.Contract(erc20Address(ethers.ZeroHash), ERC20_ABI, provider);
  const data = native.interface.encodeFunctionData("balanceOf", [stranger]);
  const rich = await provider.send("eth_call", [{ to: await native.getAddress(), data }, "latest", { [stranger]: { balance: "0x64" } }]);
  assert.equal(BigInt(rich), 100n);
  assert.equal(await provider.getBalance(stranger), 0n);
  // stateDiff sets one slot of a contract: the code above reading slot 0 instead.
  const sloadCode = "0x60005460005260206000f3";
  const slot = "0x" + "00".repeat(32);
  const stored = await provider.send("eth_call", [{ to: stranger, data: "0x" }, "latest", { [stranger]: { code: sloadCode, stateDiff: { [slot]: "0x" + "00".repeat(31) + "07" } } }]);
  assert.equal(BigInt(stored), 7n);
  const refused = await rpcError("eth_call", [{ to: stranger }, "latest", { [stranger]: { state: { [slot]: slot } } }]);
  assert.equal(refused.code, -32602);
});
