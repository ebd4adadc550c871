// Compiles contracts/*.sol with solc-js and writes {Name: {abi, bytecode}} to the path given.
import fs from "node:fs";
import path from "node:path";
import solc from "solc";

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), "contracts");
const sources = {};
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".sol"))) {
  sources[file] = { content: fs.readFileSync(path.join(dir, file), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
if (errors.length > 0) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const artifacts = {};
for (const file of Object.keys(output.contracts)) {
  for (const [name, contract] of Object.entries(output.contracts[file])) {
    artifacts[name] = {
      abi: contract.abi,
      bytecode: "0x" + contract.evm.bytecode.object,
      deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
    };
  }
}
fs.writeFileSync(process.argv[2], JSON.stringify(artifacts));
console.log(`compiled ${Object.keys(artifacts).join(", ")} with solc ${solc.version()}`);
