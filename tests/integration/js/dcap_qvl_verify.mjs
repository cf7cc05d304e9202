#!/usr/bin/env node
// Reference DCAP verifier for differential tests: @phala/dcap-qvl (pure JS, pinned in package.json).
//
//   node dcap_qvl_verify.mjs --quote FILE --collateral BUNDLE.json --at TIME [--allow-debug-enclave]
//
// FILE: raw quote (*.bin, anything not *.hex) or one line of ASCII hex (*.hex; a leading "0x",
// surrounding whitespace and trailing NULs are ignored). BUNDLE.json: collateral in dcap-qvl's
// QuoteCollateralV3 JSON layout (tests/fixtures/dcap, MANIFEST.md). TIME: RFC 3339
// ("2025-06-19T11:56:11Z") or Unix seconds.
//
// Prints one JSON line and exits 0 whatever the verdict:
//   {"ok":true,"status":"UpToDate","advisory_ids":[...]}
//   {"ok":false,"error":"<the peer's message>"}
// Exit 2 (message on stderr) on a usage error: bad arguments, unreadable or malformed input files.
//
// --allow-debug-enclave: skip only the peer's last step, its check that the application enclave
// is not a debug enclave (dcap-qvl rejects such quotes with "Debug mode is enabled"; MAA and
// Intel's QVL leave that to the appraisal policy). Done by loading the pinned version's
// verify.js with that one call removed; the QE report's debug check stays. The answer then
// carries "enclave_debug_check":"skipped".
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { createRequire, Module } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const PEER = '@phala/dcap-qvl';

function usage(msg) {
    if (msg) process.stderr.write(`dcap_qvl_verify: ${msg}\n`);
    process.stderr.write('usage: node dcap_qvl_verify.mjs --quote FILE(.bin|.hex) ' +
                         '--collateral BUNDLE.json --at RFC3339|EPOCH [--allow-debug-enclave]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const out = { allowDebug: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--allow-debug-enclave') {
            out.allowDebug = true;
        } else if (a === '--quote' || a === '--collateral' || a === '--at') {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            out[a.slice(2)] = argv[++i];
        } else if (a === '-h' || a === '--help') {
            usage();
        } else {
            usage(`unknown argument: ${a}`);
        }
    }
    for (const k of ['quote', 'collateral', 'at']) {
        if (out[k] === undefined) usage(`--${k} is required`);
    }
    return out;
}

function readQuote(file) {
    let data;
    try {
        data = readFileSync(file);
    } catch (e) {
        usage(`cannot read ${file}: ${e.message}`);
    }
    if (!file.toLowerCase().endsWith('.hex')) return data;
    let text = data.toString('latin1').replace(/^[\s\0]+|[\s\0]+$/g, '');
    if (/^0x/i.test(text)) text = text.slice(2);
    if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
        usage(`${file}: not one line of hex`);
    }
    return Buffer.from(text, 'hex');
}

function readCollateral(file) {
    try {
        const doc = JSON.parse(readFileSync(file, 'utf8'));
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
        return doc;
    } catch (e) {
        usage(`${file}: ${e.message}`);
    }
}

// RFC 3339 (with "Z" or an offset, optional fraction) or integer/decimal Unix seconds.
function parseTime(s) {
    if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
    const m = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s);
    const ms = m ? Date.parse(s.replace(' ', 'T')) : NaN;
    if (Number.isNaN(ms)) usage(`--at: not RFC 3339 or Unix seconds: ${s}`);
    return ms / 1000;
}

// The pinned verify.js minus its final `validateAttrs(quote.report);` (the application enclave's
// debug/attribute check). Refuses to run if the source no longer has exactly that one call.
function loadVerifyWithoutEnclaveDebugCheck() {
    const file = require.resolve(`${PEER}/src/verify.js`);
    const src = readFileSync(file, 'utf8');
    const call = /^\s*validateAttrs\(quote\.report\);\s*$/m;
    const hits = src.split('\n').filter((l) => call.test(l)).length;
    if (hits !== 1) {
        throw new Error(`--allow-debug-enclave: ${file} does not have exactly one validateAttrs(quote.report) call`);
    }
    const m = new Module(file, null);
    m.filename = file;
    m.paths = Module._nodeModulePaths(path.dirname(file));
    m._compile(src.replace(call, '\n'), file);
    return m.exports;
}

function describe(e) {
    let msg = e && e.message !== undefined ? String(e.message) : String(e);
    let c = e && e.cause;
    while (c) {
        msg += `: ${c.message !== undefined ? c.message : String(c)}`;
        c = c.cause;
    }
    return msg;
}

const args = parseArgs(process.argv.slice(2));
const quote = readQuote(args.quote);
const collateral = readCollateral(args.collateral);
const nowSecs = parseTime(args.at);

let answer;
try {
    const mod = args.allowDebug ? loadVerifyWithoutEnclaveDebugCheck() : require(PEER);
    const r = mod.verify(quote, collateral, nowSecs);
    answer = { ok: true, status: r.status, advisory_ids: [...(r.advisory_ids || [])] };
    if (args.allowDebug) answer.enclave_debug_check = 'skipped';
} catch (e) {
    answer = { ok: false, error: describe(e) };
}
process.stdout.write(JSON.stringify(answer) + '\n');
