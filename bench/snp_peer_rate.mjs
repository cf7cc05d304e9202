#!/usr/bin/env node
// Throughput of the reference SEV-SNP verifier @tinfoilsh/verifier (the version pinned in
// tests/integration/js/package.json; `npm ci` there first): full verification of
// sample snp03 (Genoa) with its VCEK through the peer's public verifyAttestation(), as
// tests/integration/js/snp_peer_verify.mjs calls it: gunzip + parse of the report, format checks
// of ARK/ASK/VCEK, their validity at the given time, ARK self-signature, ASK and VCEK RSA-PSS
// signatures, the report's ECDSA P-384 signature, then the policy/TCB/HWID checks. Nothing is
// cached between calls by the peer. One warm-up call (checked: it must accept), then N calls in
// a loop, one after the other.
// The peer's signature checks go through Web Crypto, which Node runs on its libuv thread pool,
// so the process uses more than one thread (never two at once: every call is awaited). Run it
// under `taskset -c N` to keep it on one core; the answer says which CPUs it was allowed.
//
//   taskset -c 0 node bench/snp_peer_rate.mjs [--n N] [--time ISO8601]   (default 300 calls,
//                                                                        2026-06-01T00:00:00Z)
// prints one JSON line:
//   {"peer":"@tinfoilsh/verifier","version":"1.1.0","sample":"snp03","per_sec":N,
//    "iterations":N,"seconds":S,"cpu_seconds":C,"per_cpu_sec":M,"cpus_allowed":"0"}
// per_sec is calls over wall-clock time; per_cpu_sec calls over the CPU time (user + system, all
// threads) the process used meanwhile: the same figure on an idle core, and the one to quote
// when something else competes for the core.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const JS_DIR = path.join(ROOT, 'tests', 'integration', 'js');
const REPORT = path.join(ROOT, 'tests', 'fixtures', 'snp', 'snp03_tinfoil_genoa_report.bin');
const VCEK = path.join(ROOT, 'tests', 'fixtures', 'snp', 'snp03_tinfoil_genoa_vcek.der');
const PEER = '@tinfoilsh/verifier';
const PREDICATE_SEV_V2 = 'https://tinfoil.sh/predicate/sev-snp-guest/v2';
const MEASUREMENT = '09ef32acf90fcfeb6206d1a46c13145cef736ebbb83f18eaff680b686232031546ff5fd39c44599699ee8734cbbeb519';

function usage() {
    process.stderr.write('usage: node bench/snp_peer_rate.mjs [--n N] [--time ISO8601]\n');
    process.exit(2);
}
let n = 300;
let atMs = Date.parse('2026-06-01T00:00:00Z'); // inside the snp03 VCEK's validity (2026-01-11 … 2033-01-11)
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--n' && /^[1-9]\d*$/.test(argv[i + 1] || '')) {
        n = Number(argv[i + 1]);
    } else if (argv[i] === '--time' && !Number.isNaN(Date.parse(argv[i + 1]))) {
        atMs = Date.parse(argv[i + 1]);
    } else {
        usage();
    }
}

const require = createRequire(path.join(JS_DIR, 'package.json'));
let peer, version;
try {
    const entry = require.resolve(PEER);
    peer = await import(pathToFileURL(entry).href);
    version = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')).version;
} catch (e) {
    process.stderr.write(`snp_peer_rate: ${PEER} not installed: cd tests/integration/js && npm ci\n`);
    process.exit(1);
}

// The peer reads the time only as `new Date()` (certificate validity); pin it for the whole run.
// Timing uses process.hrtime, which this does not touch.
const RealDate = Date;
globalThis.Date = class FixedDate extends RealDate {
    constructor(...a) {
        if (a.length === 0) super(atMs);
        else super(...a);
    }
    static now() { return atMs; }
};
// No network: the peer must never need it here.
globalThis.fetch = async (u) => {
    throw new Error(`snp_peer_rate: network access attempted: ${u}`);
};

const raw = readFileSync(REPORT);
const doc = { format: PREDICATE_SEV_V2, body: gzipSync(raw).toString('base64') };
const vcekB64 = readFileSync(VCEK).toString('base64');

// One checked call (the warm-up): the loop must measure successful verifications.
try {
    const first = await peer.verifyAttestation(doc, vcekB64);
    if (first.measurement.registers[0] !== MEASUREMENT) throw new Error('unexpected measurement');
} catch (e) {
    process.stderr.write(`snp_peer_rate: warm-up verification failed: ${e.message}\n`);
    process.exit(1);
}

const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
    await peer.verifyAttestation(doc, vcekB64);
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuSecs = (cpu.user + cpu.system) / 1e6;

let cpus = '?';
try {
    cpus = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1];
} catch { /* not Linux */ }
process.stdout.write(JSON.stringify({
    peer: PEER,
    version,
    sample: 'snp03',
    per_sec: Math.round((n / secs) * 10) / 10,
    iterations: n,
    seconds: Math.round(secs * 1000) / 1000,
    cpu_seconds: Math.round(cpuSecs * 1000) / 1000,
    per_cpu_sec: Math.round((n / cpuSecs) * 10) / 10,
    cpus_allowed: cpus,
}) + '\n');
