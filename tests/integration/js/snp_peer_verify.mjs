#!/usr/bin/env node
// Reference SEV-SNP verifier for differential tests: @tinfoilsh/verifier (pure JS + Web Crypto,
// version pinned exactly in package.json; runs on Debian 12's Node 18.20). docs/verification.md
// ("SEV-SNP") says what the peer checks and what it does not.
//
//   node snp_peer_verify.mjs --report FILE(.bin|.hex) --vcek FILE(.der|.pem)
//                            [--chain ASK_ARK.pem] [--time ISO8601]
//
// --report: the raw ATTESTATION_REPORT (*.bin, anything not *.hex) or one line of ASCII hex
//   (*.hex; a leading "0x", surrounding whitespace and trailing NULs ignored). Passed to the
//   peer's public verifyAttestation() as its "sev-snp-guest/v2" document (gzip, then base64:
//   the only report encoding that function takes).
// --vcek: the VCEK certificate, DER (or PEM: its first CERTIFICATE block is used).
// --chain: ASK + ARK in PEM. The peer cannot take a chain: it always verifies against the ARK-Genoa
//   and SEV-Genoa certificates compiled into it. Given, the answer says whether the file holds
//   exactly those two ("chain":{"matches_builtin":...}); the verdict is the peer's either way.
// --time: RFC 3339 / ISO 8601 with "Z" or an offset ("2026-06-01T00:00:00Z"), or Unix seconds.
//   The peer has no time parameter: it checks the three certificates' validity against
//   `new Date()`. With --time, Date is replaced for the duration of the call by a subclass
//   whose no-argument constructor and Date.now() return that instant. Default: the clock.
//
// Prints one JSON line and exits 0 whatever the verdict:
//   {"ok":true,"error":null,"peer":"@tinfoilsh/verifier@1.1.0","time":"...","fields":{...},
//    "result":{"measurement":"<hex>","tls_key_fp":"<hex>","hpke_key":"<hex>"}}
//   {"ok":false,"error":"<the peer's message>: <its causes>",...,"fields":{...}|null}
// "fields" is the peer's own parse of the report (its Report class), present whenever that
// parse succeeds, also when verification then fails; null when the peer cannot parse it.
// Exit 2 (message on stderr) on a usage error: bad arguments, unreadable or malformed input files.
// Exit 3 if anything tries to reach the network (fetch, or a socket connect): the peer must
// never do so here; the JSON line then has "ok":false and the error says what was attempted.
import './webcrypto.mjs'; // first, like every script here that loads an npm package
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { X509Certificate as NodeX509 } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

const require = createRequire(import.meta.url);
const PEER = '@tinfoilsh/verifier';
const PREDICATE_SEV_V2 = 'https://tinfoil.sh/predicate/sev-snp-guest/v2';

// ---- no network: any attempt is recorded, reported and ends the run with exit 3 ----

const netAttempts = [];
function refuseNetwork(what) {
    const msg = `network access attempted: ${what}`;
    netAttempts.push(msg);
    process.stderr.write(`snp_peer_verify: ${msg}\n`);
    return new Error(`snp_peer_verify: ${msg}`);
}
globalThis.fetch = async (input) => {
    throw refuseNetwork(`fetch ${typeof input === 'string' ? input : input && input.url}`);
};
net.Socket.prototype.connect = function connect(...args) {
    const o = args[0];
    const where = o && typeof o === 'object' ? `${o.host || o.path || ''}:${o.port || ''}` : String(o);
    throw refuseNetwork(`socket connect ${where}`);
};

// ---- arguments and inputs ----

function usage(msg) {
    if (msg) process.stderr.write(`snp_peer_verify: ${msg}\n`);
    process.stderr.write('usage: node snp_peer_verify.mjs --report FILE(.bin|.hex) ' +
                         '--vcek FILE(.der|.pem) [--chain ASK_ARK.pem] [--time ISO8601|EPOCH]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--report' || a === '--vcek' || a === '--chain' || a === '--time') {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            if (out[a.slice(2)] !== undefined) usage(`${a} given twice`);
            out[a.slice(2)] = argv[++i];
        } else if (a === '-h' || a === '--help') {
            usage();
        } else {
            usage(`unknown argument: ${a}`);
        }
    }
    for (const k of ['report', 'vcek']) {
        if (out[k] === undefined) usage(`--${k} is required`);
    }
    return out;
}

function readFile(file) {
    try {
        return readFileSync(file);
    } catch (e) {
        usage(`cannot read ${file}: ${e.message}`);
    }
}

function readReport(file) {
    const data = readFile(file);
    if (!file.toLowerCase().endsWith('.hex')) return data;
    let text = data.toString('latin1').replace(/^[\s\0]+|[\s\0]+$/g, '');
    if (/^0x/i.test(text)) text = text.slice(2);
    if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
        usage(`${file}: not one line of hex`);
    }
    return Buffer.from(text, 'hex');
}

// DER blocks of every "CERTIFICATE" in a PEM text.
function pemCertificates(text) {
    const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
    const out = [];
    for (let m; (m = re.exec(text)) !== null;) out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
    return out;
}

function readVcek(file) {
    const data = readFile(file);
    const text = data.toString('latin1');
    if (!text.includes('-----BEGIN')) return data; // DER, handed to the peer as it is
    const certs = pemCertificates(text);
    if (certs.length === 0) usage(`${file}: PEM without a CERTIFICATE block`);
    return certs[0];
}

function readChain(file) {
    const certs = pemCertificates(readFile(file).toString('latin1'));
    if (certs.length === 0) usage(`${file}: no PEM CERTIFICATE block`);
    return certs;
}

// RFC 3339 / ISO 8601 with a zone, or integer/decimal Unix seconds; returns milliseconds.
function parseTime(s) {
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
    const ok = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s);
    const ms = ok ? Date.parse(s.replace(' ', 'T')) : NaN;
    if (Number.isNaN(ms)) usage(`--time: not ISO 8601 with a zone, nor Unix seconds: ${s}`);
    return ms;
}

// ---- the peer ----

function describe(e) {
    let msg = e && e.message !== undefined ? String(e.message) : String(e);
    let c = e && e.cause;
    while (c) {
        msg += `: ${c.message !== undefined ? c.message : String(c)}`;
        c = c.cause;
    }
    return msg;
}

const hex = (u8) => Buffer.from(u8).toString('hex');
const hex64 = (v) => `0x${v.toString(16).padStart(16, '0')}`;

// The peer's Report (its parse) as plain JSON. TCB parts are split the way the peer splits them
// (Milan/Genoa layout: BL byte 0, TEE byte 1, SNP byte 6, microcode byte 7), whatever the CPU.
function reportFields(r, tcbFromInt) {
    const tcb = (v) => ({ raw: hex64(v), ...tcbFromInt(v) });
    return {
        version: r.version,
        guest_svn: r.guestSvn,
        policy: hex64(r.policy),
        policy_parsed: r.policyParsed,
        family_id: hex(r.familyId),
        image_id: hex(r.imageId),
        vmpl: r.vmpl,
        signature_algo: r.signatureAlgo,
        current_tcb: tcb(r.currentTcb),
        platform_info: hex64(r.platformInfo),
        platform_info_parsed: r.platformInfoParsed,
        signer_info: r.signerInfoParsed,
        report_data: hex(r.reportData),
        measurement: hex(r.measurement),
        host_data: hex(r.hostData),
        id_key_digest: hex(r.idKeyDigest),
        author_key_digest: hex(r.authorKeyDigest),
        report_id: hex(r.reportId),
        report_id_ma: hex(r.reportIdMa),
        reported_tcb: tcb(r.reportedTcb),
        cpuid: { family: r.family, model: r.model, stepping: r.stepping },
        product_name: r.productName, // v2 reports: the peer assumes Genoa
        chip_id: hex(r.chipId),
        committed_tcb: tcb(r.committedTcb),
        current_version: `${r.currentMajor}.${r.currentMinor}.${r.currentBuild}`,
        committed_version: `${r.committedMajor}.${r.committedMinor}.${r.committedBuild}`,
        launch_tcb: tcb(r.launchTcb),
    };
}

// Runs fn() with `new Date()` / Date.now() answering the instant atMs.
async function atTime(atMs, fn) {
    if (atMs === undefined) return fn();
    const RealDate = Date;
    class FixedDate extends RealDate {
        constructor(...a) {
            if (a.length === 0) super(atMs);
            else super(...a);
        }
        static now() { return atMs; }
    }
    globalThis.Date = FixedDate;
    try {
        return await fn();
    } finally {
        globalThis.Date = RealDate;
    }
}

async function loadPeer() {
    const entry = require.resolve(PEER); // .../dist/index.js (the package's only export)
    const dist = path.dirname(entry);
    const internal = (f) => import(pathToFileURL(path.join(dist, f)).href);
    const [api, report, utils, certs] = await Promise.all([
        import(pathToFileURL(entry).href), internal('sev/report.js'), internal('sev/utils.js'),
        internal('sev/certs.js'),
    ]);
    const pkg = JSON.parse(readFileSync(path.join(dist, '..', 'package.json'), 'utf8'));
    return {
        verifyAttestation: api.verifyAttestation,
        Report: report.Report,
        tcbFromInt: utils.tcbFromInt,
        builtinChain: [certs.ASK_CERT, certs.ARK_CERT].map((p) => pemCertificates(p)[0]),
        id: `${PEER}@${pkg.version}`,
    };
}

function chainInfo(given, builtin) {
    const subject = (der) => {
        try {
            return new NodeX509(der).subject.split('\n').find((l) => l.startsWith('CN=')) || '?';
        } catch {
            return 'unparsable';
        }
    };
    const same = given.length === builtin.length && given.every((d, i) => d.equals(builtin[i]));
    return { given: given.map(subject), builtin: builtin.map(subject), matches_builtin: same };
}

const args = parseArgs(process.argv.slice(2));
const raw = readReport(args.report);
const vcek = readVcek(args.vcek);
const chain = args.chain !== undefined ? readChain(args.chain) : undefined;
const atMs = args.time !== undefined ? parseTime(args.time) : undefined;

const peer = await loadPeer();
const answer = { ok: false, error: null, peer: peer.id,
                 time: new Date(atMs ?? Date.now()).toISOString(),
                 time_source: atMs !== undefined ? '--time' : 'clock' };
if (chain) answer.chain = chainInfo(chain, peer.builtinChain);

try {
    answer.fields = reportFields(new peer.Report(new Uint8Array(raw)), peer.tcbFromInt);
} catch (e) {
    answer.fields = null;
}
try {
    const doc = { format: PREDICATE_SEV_V2, body: gzipSync(raw).toString('base64') };
    const r = await atTime(atMs, () => peer.verifyAttestation(doc, vcek.toString('base64')));
    answer.ok = true;
    answer.result = { measurement: r.measurement.registers[0], tls_key_fp: r.tlsPublicKeyFingerprint,
                      hpke_key: r.hpkePublicKey };
} catch (e) {
    answer.error = describe(e);
}
if (netAttempts.length > 0) {
    answer.ok = false;
    answer.error = netAttempts.join('; ');
}
process.stdout.write(JSON.stringify(answer) + '\n');
process.exitCode = netAttempts.length > 0 ? 3 : 0;
