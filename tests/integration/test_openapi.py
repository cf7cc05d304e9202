"""docs/openapi.yaml against the route table and against OpenAPI itself (tool test: no daemon).

The route table is `attestctl routes` (src/api/router.c), so the test follows the code: every
route, deprecated aliases included, must be documented with its method at the root, and a
provider-scoped one also under /providers/{provider}, and nothing may be documented that the
router does not serve. Each documented operation must also say what the table says: its
operationId (the route's name), its permission (x-attestd-permission), its api-version rule, its
path parameters, whether it is deprecated (an alias, naming its successor) and whether it may
be called anonymously. The document must pass an OpenAPI validator from npm
(@seriousme/openapi-schema-validator, tests/integration/js/openapi_check.mjs), and the checks
must catch a doctored copy (a route left out, one added, a rule changed).
"""
import copy
import json
import os
import re
import subprocess
import tempfile
import unittest

import harness as h

DOCUMENT = os.path.join(h.ROOT, "docs", "openapi.yaml")
PROVIDER_PREFIX = "/providers/{provider}"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def check_document(source, document=None):
    """Run openapi_check.mjs on the file `source`, or on `document` (a dict) given as JSON:
    {"valid", "errors", "version", "document"}."""
    h.require_node("@seriousme/openapi-schema-validator", "yaml")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        if document is not None:  # (a file: node's read of a piped stdin can fail with EAGAIN)
            json.dump(document, f)
            f.flush()
            source = f.name
        args = [h.NODE, os.path.join(h.JS_DIR, "openapi_check.mjs"), source]
        proc = subprocess.run(args, cwd=h.JS_DIR, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"openapi_check.mjs exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout)


def route_table():
    proc = subprocess.run([h.ATTESTCTL, "routes"], env=h.san_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    if proc.returncode != 0 or h.sanitizer_problems(proc.stderr):
        raise AssertionError(f"attestctl routes: {proc.returncode} {proc.stderr}")
    return json.loads(proc.stdout)


def served(routes):
    """{(METHOD, path): (route, scoped, operationId)} the router serves: each route at its path,
    a provider-scoped one also under /providers/{provider} (an alias only at the root)."""
    out = {}
    for rt in routes:
        suffix = "Deprecated" if "successor" in rt else ""
        out[(rt["method"], rt["path"])] = (rt, False, rt["name"] + suffix)
        if rt["providerScoped"]:
            out[(rt["method"], PROVIDER_PREFIX + rt["path"])] = (rt, True,
                                                                  rt["name"] + "ForProvider")
    return out


def resolve(doc, obj):
    """`obj`, or what its local $ref names."""
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), ref
        obj = doc
        for part in ref[2:].split("/"):
            obj = obj[part.replace("~1", "/").replace("~0", "~")]
    return obj


def documented(doc):
    """{(METHOD, path): operation} of an OpenAPI document."""
    return {(method.upper(), path): op
            for path, item in doc.get("paths", {}).items()
            for method, op in item.items() if method in METHODS}


def operation_problems(doc, path, op, rt, scoped, operation_id):
    """What the operation `op` documented at `path` says otherwise than the route table."""
    problems = []
    where = f"{rt['method']} {path}"
    if op.get("operationId") != operation_id:
        problems.append(f"{where}: operationId {op.get('operationId')!r}, not {operation_id!r}")
    if op.get("x-attestd-permission") != rt["permission"]:
        problems.append(f"{where}: x-attestd-permission {op.get('x-attestd-permission')!r}, "
                        f"not {rt['permission']!r}")
    params = [resolve(doc, p) for p in op.get("parameters", [])]
    version = [p for p in params if p.get("in") == "query" and p.get("name") == "api-version"]
    want = {"required": [True], "optional": [False], "ignored": []}[rt["apiVersion"]]
    if [bool(p.get("required")) for p in version] != want:
        problems.append(f"{where}: api-version is {rt['apiVersion']} in the route table")
    in_path = sorted(p["name"] for p in params if p.get("in") == "path")
    if in_path != sorted(re.findall(r"\{(\w+)\}", path)):
        problems.append(f"{where}: path parameters {in_path}")
    successor = rt.get("successor")
    if bool(op.get("deprecated")) != (successor is not None):
        problems.append(f"{where}: deprecated is {bool(op.get('deprecated'))}")
    link = f'Link: <{successor}>; rel="successor-version"'
    if successor is not None and link not in op.get("description", ""):
        problems.append(f"{where}: the description does not give {link}")
    security = op.get("security", doc.get("security", []))
    anonymous = security == [] or {} in security
    if anonymous != (rt["permission"] in ("public", "attest")):
        problems.append(f"{where}: anonymous callers {'allowed' if anonymous else 'refused'}")
    if rt["permission"] != "public" and {"bearerAuth": []} not in security:
        problems.append(f"{where}: no bearer token")
    if scoped != path.startswith(PROVIDER_PREFIX + "/"):
        problems.append(f"{where}: provider scope")
    return problems


def compare(doc, routes):
    """Every problem between the document and the route table, both ways (empty: they agree)."""
    want = served(routes)
    have = documented(doc)
    problems = [f"not documented: {m} {p} ({want[(m, p)][2]})"
                for m, p in sorted(set(want) - set(have))]
    problems += [f"documented but not served: {m} {p}" for m, p in sorted(set(have) - set(want))]
    for key in sorted(set(want) & set(have)):
        problems += operation_problems(doc, key[1], have[key], *want[key])
    return problems


class OpenApiTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.routes = route_table()
        cls.checked = check_document(DOCUMENT)
        cls.doc = cls.checked["document"]

    def doctored(self, change):
        doc = copy.deepcopy(self.doc)
        change(doc)
        return doc

    def test_valid_openapi(self):
        self.assertEqual((self.checked["valid"], self.checked["errors"]), (True, None))
        self.assertEqual(self.checked["version"], "3.1")
        # The validator judges: a parameter without `in`, and a $ref to nothing, are refused.
        def no_in(doc):
            del doc["components"]["parameters"]["Version"]["in"]

        def dangling(doc):
            doc["paths"]["/certs"]["get"]["responses"]["200"]["$ref"] += "X"

        for change in (no_in, dangling):
            with self.subTest(change=change.__name__):
                self.assertIs(check_document("-", self.doctored(change))["valid"], False)

    def test_route_table_and_document_agree(self):
        self.assertEqual(compare(self.doc, self.routes), [])
        # 32 routes in the table (4 of them deprecated aliases), 19 also under a provider.
        self.assertEqual(len(documented(self.doc)), len(served(self.routes)))
        self.assertEqual(len(self.routes), 32)
        self.assertEqual(len(served(self.routes)), 51)
        # operationIds are unique (OpenAPI requires it; the checks above fix each one).
        ids = [op["operationId"] for op in documented(self.doc).values()]
        self.assertEqual(len(ids), len(set(ids)))

    def test_checks_catch_a_doctored_document(self):
        def drop_tdx(doc):
            del doc["paths"]["/attest/TdxVm"]

        def drop_scoped_rollback(doc):
            del doc["paths"][PROVIDER_PREFIX + "/attestd/policies/{type}/versions/{version}"
                             ":rollback"]

        def drop_alias(doc):
            del doc["paths"]["/admin/roleAssignments"]["post"]

        def add_route(doc):
            doc["paths"]["/attest/SgxQuote"] = doc["paths"]["/attest/SgxEnclave"]
            doc["paths"]["/providers/{provider}/healthz"] = doc["paths"]["/healthz"]

        def change_rules(doc):
            get = doc["paths"]["/policies/{type}"]["get"]
            get["parameters"] = [p for p in get["parameters"] if "ApiVersion" not in p["$ref"]]
            doc["paths"]["/metrics"]["get"]["x-attestd-permission"] = "public"
            del doc["paths"]["/admin/whoami"]["get"]["deprecated"]
            doc["paths"]["/attestd/audit"]["get"]["security"] = [{}]

        cases = {
            drop_tdx: ["not documented: POST /attest/TdxVm (AttestTdxVm)"],
            drop_scoped_rollback: [
                "not documented: POST /providers/{provider}/attestd/policies/{type}/versions/"
                "{version}:rollback (RollbackPolicyForProvider)"],
            drop_alias: ["not documented: POST /admin/roleAssignments "
                         "(AddRoleAssignmentDeprecated)"],
            add_route: ["documented but not served: GET /providers/{provider}/healthz",
                        "documented but not served: POST /attest/SgxQuote"],
            change_rules: [
                "GET /admin/whoami: deprecated is False",
                "GET /attestd/audit: anonymous callers allowed",
                "GET /attestd/audit: no bearer token",
                "GET /metrics: x-attestd-permission 'public', not 'read'",
                "GET /policies/{type}: api-version is required in the route table"],
        }
        for change, want in cases.items():
            with self.subTest(change=change.__name__):
                self.assertEqual(compare(self.doctored(change), self.routes), want)
        # A route the table gains is missing from the document until it is described.
        extra = dict(self.routes[0], name="GetFoo", path="/foo", providerScoped=True)
        self.assertEqual(compare(self.doc, self.routes + [extra]), [
            "not documented: GET /foo (GetFoo)",
            "not documented: GET /providers/{provider}/foo (GetFooForProvider)"])

    def test_linked_from_the_docs(self):
        for page in ("README.md", os.path.join("docs", "operations.md")):
            with self.subTest(page=page):
                with open(os.path.join(h.ROOT, page), encoding="utf-8") as f:
                    self.assertTrue("openapi.yaml)" in f.read(), f"{page} does not link it")


if __name__ == "__main__":
    unittest.main()
