"""web3.py, unmodified, against a real `nvm node --dev`: deploys and calls the Solidity contracts
with legacy (EIP-155) transactions, reads receipts and logs, and checks balances through n-VM's
own RPC. Needs NVM_RPC_URL and NVM_ARTIFACTS (written by compile.mjs)."""

import hashlib
import json
import os
import signal
import sys
import traceback

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, TimeExhausted

MNEMONIC = "test test test test test test test test test test test junk"
# Every wait has a deadline (blocks take 200 ms here): a request 10 s, a receipt 30 s, and the whole
# script SCRIPT_LIMIT, so that a node that stops including transactions fails the step, never hangs.
RECEIPT_TIMEOUT = 30
SCRIPT_LIMIT = 240
Account.enable_unaudited_hdwallet_features()
w3 = Web3(Web3.HTTPProvider(os.environ["NVM_RPC_URL"], request_kwargs={"timeout": 10}))
with open(os.environ["NVM_ARTIFACTS"], encoding="utf8") as f:
    ARTIFACTS = json.load(f)
# Account 1 of the dev mnemonic (ethers' test uses 0 and 2), and account 3 to receive.
sender = Account.from_mnemonic(MNEMONIC, account_path="m/44'/60'/0'/0/1")
receiver = Account.from_mnemonic(MNEMONIC, account_path="m/44'/60'/0'/0/3")


def expect(condition, detail):
    """A check that fails explicitly (a bare `assert` vanishes under `python -O`)."""
    if not condition:
        raise AssertionError(f"check failed: {detail}")


def expect_eq(actual, expected):
    if actual != expected:
        raise AssertionError(f"expected {expected!r}, got {actual!r}")


def ledger_balance(address):
    return int(w3.provider.make_request("nvm_getBalance", [address])["result"]["balance"])


def send_legacy(tx, what):
    """Signs `tx` as a legacy EIP-155 transaction (gasPrice set, no fee-market fields), sends it and
    returns its receipt; `what` names it if the receipt does not come."""
    tx = dict(tx)
    # build_transaction fills in fee-market fields; a legacy transaction has a gas price instead.
    tx.pop("maxFeePerGas", None)
    tx.pop("maxPriorityFeePerGas", None)
    tx.setdefault("nonce", w3.eth.get_transaction_count(sender.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("gasPrice", w3.eth.gas_price)
    tx.setdefault("from", sender.address)
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(tx)
    signed = sender.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    try:
        return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.1)
    except TimeExhausted as e:
        raise TimeoutError(f"receipt of {what} {Web3.to_hex(tx_hash)}: not done within {RECEIPT_TIMEOUT} s") from e


def deploy(name, *args):
    artifact = ARTIFACTS[name]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send_legacy(factory.constructor(*args).build_transaction({"from": sender.address}), f"the {name} deployment")
    expect(receipt.status == 1, receipt)
    expect(receipt.type == 0, receipt)
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"]), receipt


def test_chain_facts():
    expect_eq(w3.eth.chain_id, 31337)
    expect_eq(w3.net.version, "31337")
    expect(w3.eth.get_block("latest").baseFeePerGas > 0, "a base fee in the latest block")
    expect_eq(w3.eth.get_balance(sender.address), ledger_balance(sender.address))


def test_legacy_value_transfer():
    before, to_before = w3.eth.get_balance(sender.address), w3.eth.get_balance(receiver.address)
    receipt = send_legacy({"to": receiver.address, "value": Web3.to_wei(2, "ether"), "gas": 21000}, "the 2 ETH transfer")
    expect_eq(receipt.status, 1)
    expect_eq(receipt.gasUsed, 21000)
    tx = w3.eth.get_transaction(receipt.transactionHash)
    expect_eq(tx["from"], sender.address)
    expect_eq(tx["type"], 0)
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    expect_eq(w3.eth.get_balance(sender.address), before - Web3.to_wei(2, "ether") - fee)
    expect_eq(ledger_balance(receiver.address), to_before + Web3.to_wei(2, "ether"))


def test_deploy_and_call_contracts():
    token, deployment = deploy("Token", "Legacy", "LGC", 10**24)
    expect(w3.eth.get_code(token.address) != b"", "code at the token's address")
    expect_eq(token.functions.symbol().call(), "LGC")
    expect_eq(token.functions.balanceOf(sender.address).call(), 10**24)

    receipt = send_legacy(token.functions.transfer(receiver.address, 777).build_transaction({"from": sender.address}), "the transfer of 777 LGC")
    (event,) = token.events.Transfer().process_receipt(receipt)
    expect_eq((event.args["from"], event.args.to, event.args.value), (sender.address, receiver.address, 777))

    vault, _ = deploy("Vault", token.address)
    send_legacy(token.functions.approve(vault.address, 300).build_transaction({"from": sender.address}), "the approval of 300 LGC")
    deposited = send_legacy(vault.functions.deposit(300).build_transaction({"from": sender.address}), "the vault deposit of 300 LGC")
    expect_eq(deposited.status, 1)
    expect_eq(vault.functions.deposited(sender.address).call(), 300)
    expect_eq(token.functions.balanceOf(vault.address).call(), 300)

    logs = token.events.Transfer().get_logs(from_block=deployment.blockNumber)
    expect_eq([log.args.value for log in logs], [10**24, 777, 300])

    try:
        token.functions.transfer(receiver.address, 10**30).call({"from": sender.address})
        raise AssertionError("the call should revert")
    except ContractCustomError as e:
        selector = Web3.keccak(text="InsufficientBalance(uint256,uint256)")[:4].hex()
        expect(selector in str(e.data), e.data)


def test_vault_pulls_a_ledger_token():
    """The vault, deployed with a legacy transaction, pulls a ledger token through its ERC-20 view."""
    mint = os.environ["NVM_LEDGER_TOKEN"]
    # SPEC §3: the view answers at SHA-256("erc20-addr:" ‖ mint)[12..32].
    view = Web3.to_checksum_address(hashlib.sha256(b"erc20-addr:" + bytes.fromhex(mint.removeprefix("0x"))).digest()[12:])
    gold = w3.eth.contract(address=view, abi=ARTIFACTS["Token"]["abi"])
    expect_eq(gold.functions.symbol().call(), "GLD")
    expect_eq(gold.functions.balanceOf(sender.address).call(), 50_000000)
    vault, _ = deploy("Vault", view)
    approval = send_legacy(gold.functions.approve(vault.address, 10_000000).build_transaction({"from": sender.address}), "the approval of 10 GLD")
    expect_eq(approval.status, 1)
    expect_eq(approval.type, 0)
    (event,) = gold.events.Approval().process_receipt(approval)
    expect_eq((event.args.owner, event.args.spender, event.args.value), (sender.address, vault.address, 10_000000))
    deposit = vault.functions.deposit(10_000000).build_transaction({"from": sender.address})
    expect_eq(send_legacy(deposit, "the vault deposit of 10 GLD").status, 1)
    def ledger(address):
        return int(w3.provider.make_request("nvm_getBalance", [address, mint])["result"]["balance"])
    expect_eq(ledger(vault.address), 10_000000)
    expect_eq(ledger(sender.address), 40_000000)
    expect_eq(gold.functions.balanceOf(sender.address).call(), 40_000000)


def out_of_time(signum, frame):
    traceback.print_stack(frame)
    # SystemExit, not an Exception: main() must stop here, not go on to the next test.
    raise SystemExit(f"test_web3.py: not done within its {SCRIPT_LIMIT} s limit (stopped where the stack above shows)")


def main():
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(SCRIPT_LIMIT)
    tests = [test_chain_facts, test_legacy_value_transfer, test_deploy_and_call_contracts, test_vault_pulls_a_ledger_token]
    failed = 0
    for test in tests:
        try:
            test()
            print(f"ok - {test.__name__}")
        except Exception:  # report every failure, then exit non-zero
            failed += 1
            print(f"not ok - {test.__name__}")
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
