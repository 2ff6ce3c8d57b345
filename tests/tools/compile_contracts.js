#!/usr/bin/env node
// Compiles the Ethereum test contracts in tests/fixtures/ethereum/contracts/
// with solc-js (the exact `solc` version pinned in tests/package.json) and
// writes tests/fixtures/ethereum/contracts/compiled.json.
//
// Run from the project root:   node tests/tools/compile_contracts.js
// (needs `npm ci` in tests/ first). Output is deterministic: rerunning it on
// unchanged sources gives a byte-identical file.
'use strict';

const fs = require('fs');
const path = require('path');

const testsDir = path.resolve(__dirname, '..');
const nodeModules = path.join(testsDir, 'node_modules');
const solc = require(path.join(nodeModules, 'solc'));
const { keccak256 } = require(path.join(nodeModules, 'js-sha3'));

const contractsDir = path.join(testsDir, 'fixtures', 'ethereum', 'contracts');
const outFile = path.join(contractsDir, 'compiled.json');

// Source file -> contract names to export, in output order.
const SOURCES = {
  'TestToken.sol': ['TestToken'],
  'Forwarder.sol': ['Forwarder'],
};

const input = {
  language: 'Solidity',
  sources: {},
  settings: {
    optimizer: { enabled: true, runs: 200 },
    // anvil's default hardfork runs newer EVMs too; "paris" keeps the code
    // free of PUSH0/MCOPY/transient storage so any post-merge node runs it.
    evmVersion: 'paris',
    outputSelection: {
      '*': {
        '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'],
      },
    },
  },
};
for (const file of Object.keys(SOURCES)) {
  input.sources[file] = { content: fs.readFileSync(path.join(contractsDir, file), 'utf8') };
}

const output = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const err of output.errors || []) {
  process.stderr.write(err.formattedMessage || err.message);
  process.stderr.write('\n');
  if (err.severity === 'error') failed = true;
}
if (failed) {
  process.stderr.write('compile_contracts: compilation failed\n');
  process.exit(1);
}

function sortedObject(obj) {
  const out = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

function canonicalType(param) {
  // Tuples are spelled out as (t1,t2,...) in signatures.
  if (param.type.startsWith('tuple')) {
    return '(' + param.components.map(canonicalType).join(',') + ')' + param.type.slice('tuple'.length);
  }
  return param.type;
}

const result = {
  solcVersion: solc.version(),
  settings: { optimizer: input.settings.optimizer, evmVersion: input.settings.evmVersion },
  contracts: {},
};

for (const [file, names] of Object.entries(SOURCES)) {
  for (const name of names) {
    const c = output.contracts[file] && output.contracts[file][name];
    if (!c) {
      process.stderr.write(`compile_contracts: ${file}:${name} missing from solc output\n`);
      process.exit(1);
    }
    const selectors = {};
    for (const [sig, id] of Object.entries(c.evm.methodIdentifiers)) selectors[sig] = '0x' + id;
    const events = {};
    for (const item of c.abi) {
      if (item.type !== 'event') continue;
      const sig = `${item.name}(${item.inputs.map(canonicalType).join(',')})`;
      events[sig] = '0x' + keccak256(sig);
    }
    result.contracts[name] = {
      source: file,
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
      selectors: sortedObject(selectors),
      events: sortedObject(events),
    };
  }
}

fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(`compile_contracts: wrote ${path.relative(process.cwd(), outFile)} (solc ${result.solcVersion})\n`);
