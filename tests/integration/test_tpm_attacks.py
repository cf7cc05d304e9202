"""The attacks of the outside review of TPM and Azure CVM attestation (issue 14), kept as
regression tests: each script in tests/integration/attacks starts its own daemon (and software
or swtpm TPM), tries one attack and exits 0 only when attestd refused it as it must.

t01 a legacy event log of zero records (quadratic parse before the fix); t02 AzureGuest with
runtimeData / initTimeData no evidence binds; t03 TpmQuote's unbound initTimeData and a nonce
beside a challenge; t04 an SEV-SNP report from VMPL 2 naming its own vTPM key; t06 a challenge
used up by a refused request; t16 challenges across providers; t18, t19, t21 event data trusted
through the digests of a bank that proved no PCR (software TPM, swtpm, MAA's protocol). From the
second review (the AK memo and tree-only policy claims): t30 AK certificates that expire after
their validation was memoized; t31 memoized certificates sent with other AKs, attributes or
chains; t32 the events and PCR claims as trees, and nothing derived from the read-only `pcrs`
issued, not even as a claim's type. From the third (AzureGuest's sealed answers, a software AK
named HCLAkPub by a test SEV-SNP report): t33 the envelope's cryptography; t34 replayed
evidence with the attacker's own key to seal to; t35 certified names that are not EncKeyPub's;
t36 keys that must not be sealed to (ECC, odd sizes, an even modulus, restricted, exportable);
t37 malformed and partial members, nonces and challenges beside them; t38 only AzureGuest
seals; t39 sizes and parallel load; t40 a token over its size cap is a 400, not a 500. From
the fourth (the audit trail and metrics of issue 15): t41 a trail cut or deleted, then the
daemon restarted (it must refuse to start); t42 control characters a client chooses reaching
`attestctl audit show`; t43 the metrics listener's descriptors in the open-file reserve; t44 one
source holding every metrics-listener slot; t45 a private_key_jwt refusal recorded with the
client id it claimed; t46 an epoch time that overflows in `attestctl audit show --since`.
"""
import glob
import os
import subprocess
import unittest

import harness as h
import swtpm

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attacks")


def run(name):
    path = glob.glob(os.path.join(HERE, name + "_*.py"))[0]
    return subprocess.run(["/usr/bin/python3", path], env=h.san_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=240)


class TpmAttacksTest(unittest.TestCase):
    time_limit = 300

    def attack(self, name):
        p = run(name)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:])


for _name in ("t01", "t02", "t03", "t04", "t06", "t16", "t18", "t19", "t21", "t30", "t31", "t32",
              "t33", "t34", "t35", "t36", "t37", "t38", "t39", "t40", "t41", "t42", "t43", "t44",
              "t45", "t46"):
    def _test(self, name=_name):
        if name == "t19" and not swtpm.available():
            self.skipTest("swtpm and tpm2-tools are not installed")
        self.attack(name)
    setattr(TpmAttacksTest, "test_" + _name, _test)


if __name__ == "__main__":
    unittest.main()
