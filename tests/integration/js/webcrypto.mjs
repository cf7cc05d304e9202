// The global Web Crypto object (globalThis.crypto) for Node 18, Debian 12's nodejs: Node 19 and
// later define it, 18 does not, and packages here call it: @azure/attestation's HTTP pipeline
// (@typespec/ts-http-runtime) makes each request id with crypto.randomUUID(), which without it
// fails with "ReferenceError: crypto is not defined". The value is node:crypto's webcrypto, the
// same object later Nodes expose.
// Every script that loads an npm package imports this module FIRST: imports are evaluated in
// order before the importing module's body, so setting the global in the script itself would
// come too late for the packages it imports.
import { webcrypto } from 'node:crypto';

globalThis.crypto ??= webcrypto;
