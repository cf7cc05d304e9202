"""A self-test of tests/integration/kds_server.py, the AMD KDS stand-in (no attestd): fixtures
from tests/fixtures/snp/kds are served on AMD's paths, malformed VCEK requests are refused,
the test controls and the rate limiter answer as documented, and SIGTERM ends it with 0.
"""
import os
import tempfile
import unittest

from kds_server import KdsServer

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "snp",
                        "kds")
MILAN_HWID = ("d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc"
              "15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6")
MILAN_VCEK = "/vcek/v1/Milan/" + MILAN_HWID + "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115"
TURIN_VCEK = "/vcek/v1/Turin/1e550a8ee5cf9f4d?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


class KdsServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="attestd-kds-")
        cls.kds = KdsServer(cls.tmp.name, dirs=[FIXTURES]).start()

    @classmethod
    def tearDownClass(cls):
        cls.kds.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.kds.reset()

    def get(self, path):
        status, headers, body = self.kds.request("GET", path)
        return status, headers, body

    def test_items(self):
        for path, name, ctype in (
                (MILAN_VCEK, "vcek_milan_snp02.der", "application/pkix-cert"),
                (TURIN_VCEK, "vcek_turin.der", "application/pkix-cert"),  # any order
                ("/vcek/v1/Milan/cert_chain", "cert_chain_milan.pem", "application/x-pem-file"),
                ("/vcek/v1/Milan/crl", "crl_testonly.der", "application/pkix-crl")):
            status, headers, body = self.get(path)
            self.assertEqual((status, headers["Content-Type"]), (200, ctype), path)
            self.assertEqual(body, fixture(name), path)
        self.assertEqual(self.kds.stats()["total"], 4)

    def test_refusals(self):
        cases = [
            (MILAN_VCEK.replace("ucodeSPL=115", "ucodeSPL=116"), 404),  # another TCB
            ("/vcek/v1/Genoa/" + MILAN_HWID + "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115", 404),
            ("/vcek/v1/Siena/cert_chain", 404),
            ("/vlek/v1/Milan/cert_chain", 404),
            ("/vlek/v1/Milan/" + MILAN_HWID + "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115", 404),
            ("/vcek/v1/Milan/cert_chain/x", 404),
            (MILAN_VCEK.replace("d495", "D495"), 400),  # upper case
            (MILAN_VCEK.replace("d495", "d4"), 400),  # short
            (MILAN_VCEK.replace("&ucodeSPL=115", ""), 400),  # missing
            (MILAN_VCEK + "&ucodeSPL=115", 400),  # repeated
            (MILAN_VCEK + "&fmcSPL=0", 400),  # not Milan's
            (MILAN_VCEK.replace("blSPL=3", "blSPL=256"), 400),
            (MILAN_VCEK.replace("blSPL=3", "blSPL=0x3"), 400),
            (TURIN_VCEK.replace("fmcSPL=0&", ""), 400),  # Turin needs fmcSPL
            ("/vcek/v1/Turin/" + MILAN_HWID + "?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9",
             400),
        ]
        for path, want in cases:
            self.assertEqual(self.get(path)[0], want, path)

    def test_controls(self):
        self.kds.fail(429, count=2, retry_after=30, path="/vcek/v1/Milan/")
        self.assertEqual(self.get("/vcek/v1/Turin/cert_chain")[0], 200)  # another path
        for _ in range(2):
            status, headers, _ = self.get("/vcek/v1/Milan/cert_chain")
            self.assertEqual((status, headers["Retry-After"]), (429, "30"))
        self.assertEqual(self.get("/vcek/v1/Milan/cert_chain")[0], 200)
        stats = self.kds.stats()
        self.assertEqual(stats["by_path"], {"/vcek/v1/Milan/cert_chain": 3,
                                            "/vcek/v1/Turin/cert_chain": 1})
        self.assertEqual(stats["rate_limited"], 0)
        self.kds.reset()
        self.assertEqual(self.kds.stats()["total"], 0)

    def test_rate_limit(self):
        with tempfile.TemporaryDirectory(prefix="attestd-kds-rl-") as tmp:
            kds = KdsServer(tmp, dirs=[FIXTURES], rate_limit="2/m").start()
            try:
                got = [kds.request("GET", "/vcek/v1/Milan/crl") for _ in range(3)]
                self.assertEqual([g[0] for g in got], [200, 200, 429])
                self.assertTrue(1 <= int(got[2][1]["Retry-After"]) <= 60)
                self.assertEqual(kds.stats()["rate_limited"], 1)
                kds.reset()  # empties the window too
                self.assertEqual(kds.request("GET", "/vcek/v1/Milan/crl")[0], 200)
            finally:
                kds.stop()


if __name__ == "__main__":
    unittest.main()
