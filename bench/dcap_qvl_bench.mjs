#!/usr/bin/env node
// Throughput of the reference verifier @phala/dcap-qvl (pure JS, the version pinned in
// tests/integration/js/package.json; `npm ci` there first): full verification of sample sgx01
// (or, with --sample tdx01, the TDX v4 quote tdx01) with its collateral at a time inside its
// window (quote parse, collateral signatures and chains, PCK chain, QE report, quote
// signature, TCB matching), in a loop on one core.
// Every call is synchronous on the main thread (no worker threads, no libuv pool), so it uses
// one core; pin it with `taskset -c N` to choose which.
//
//   node bench/dcap_qvl_bench.mjs [--seconds S] [--sample sgx01|tdx01]   (default 3, sgx01)
// prints one JSON line: {"peer":"@phala/dcap-qvl","version":"0.3.9","per_sec":N}
// (per_sec rounded to one decimal; also "iterations" and "seconds" as measured).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const JS_DIR = path.join(ROOT, 'tests', 'integration', 'js');
const FIX = path.join(ROOT, 'tests', 'fixtures', 'dcap');
const PEER = '@phala/dcap-qvl';
const SAMPLES = {
    sgx01: {quote: 'sgx/sgx01_dcapqvl_quote.bin', bundle: 'sgx/sgx01_dcapqvl_collateral.json',
            at: '2025-06-19T11:56:11Z', status: 'ConfigurationAndSWHardeningNeeded'},
    tdx01: {quote: 'tdx/tdx01_dcapqvl_v4_quote.bin', bundle: 'tdx/tdx01_dcapqvl_collateral.json',
            at: '2025-06-20T00:00:00Z', status: 'UpToDate'},
};

let seconds = 3;
let sample = SAMPLES.sgx01;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--seconds' && Number(argv[i + 1]) > 0) {
        seconds = Number(argv[i + 1]);
    } else if (argv[i] === '--sample' && SAMPLES[argv[i + 1]]) {
        sample = SAMPLES[argv[i + 1]];
    } else {
        process.stderr.write('usage: node bench/dcap_qvl_bench.mjs [--seconds S] [--sample sgx01|tdx01]\n');
        process.exit(2);
    }
}
const AT = Date.parse(sample.at) / 1000;

const require = createRequire(path.join(JS_DIR, 'package.json'));
let peer, version;
try {
    peer = require(PEER);
    version = require(`${PEER}/package.json`).version;
} catch (e) {
    process.stderr.write(`dcap_qvl_bench: ${PEER} not installed: cd tests/integration/js && npm ci\n`);
    process.exit(1);
}

const quote = readFileSync(path.join(FIX, sample.quote));
const collateral = JSON.parse(readFileSync(path.join(FIX, sample.bundle), 'utf8'));

// One checked run (and warm-up): the loop must measure successful verifications.
const first = peer.verify(quote, collateral, AT);
if (first.status !== sample.status) {
    process.stderr.write(`dcap_qvl_bench: unexpected verdict ${first.status}\n`);
    process.exit(1);
}
for (let i = 0; i < 20; i++) peer.verify(quote, collateral, AT);

const start = process.hrtime.bigint();
const budget = BigInt(Math.round(seconds * 1e9));
let n = 0;
let elapsed = 0n;
do {
    peer.verify(quote, collateral, AT);
    n++;
    elapsed = process.hrtime.bigint() - start;
} while (elapsed < budget);

const secs = Number(elapsed) / 1e9;
process.stdout.write(JSON.stringify({
    peer: PEER,
    version,
    per_sec: Math.round((n / secs) * 10) / 10,
    iterations: n,
    seconds: Math.round(secs * 1000) / 1000,
}) + '\n');
