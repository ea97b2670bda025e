"""The manifest checker on the real overlays (they pass) and on broken manifests (it fails, and
says why): a fixture without probes, and the rendered demo with one thing broken at a time.

    target/k8s-venv/bin/python -m unittest discover -s tests/kubernetes -v
"""

import copy
import pathlib
import sys
import unittest

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import check_manifests as cm  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def failures(objects, production=False):
    return cm.check(objects, production).failures


def container(objects, deployment):
    obj = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == deployment)
    return obj["spec"]["template"]["spec"]["containers"][0]


class Overlays(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.demo = cm.render("demo")
        cls.production = cm.render("production")

    def test_both_overlays_pass(self):
        self.assertEqual(failures(self.demo), [])
        self.assertEqual(failures(self.production, production=True), [])

    def test_a_manifest_without_probes_fails(self):
        objects = list(yaml.safe_load_all((FIXTURES / "without-probes.yaml").read_text()))
        found = failures(objects)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertIn(f"Deployment/user-service container user-service: no {probe}", found)

    def broken(self, deployment, change, production=False):
        objects = copy.deepcopy(self.production if production else self.demo)
        change(container(objects, deployment))
        return failures(objects, production)

    def assert_fails_with(self, found, words):
        self.assertTrue(any(words in f for f in found), f"no failure says {words!r}: {found}")

    def test_a_latest_or_missing_tag_fails(self):
        found = self.broken("gateway", lambda c: c.update(image="api-gateway-pattern/gateway:latest"))
        self.assert_fails_with(found, "uses the latest tag")
        found = self.broken("gateway", lambda c: c.update(image="api-gateway-pattern/gateway"))
        self.assert_fails_with(found, "has no tag")

    def test_root_and_a_writable_root_filesystem_fail(self):
        def root(c):
            c["securityContext"]["runAsUser"] = 0
            c["securityContext"]["readOnlyRootFilesystem"] = False

        found = self.broken("billing-service", root)
        self.assert_fails_with(found, "no non-zero numeric runAsUser")
        self.assert_fails_with(found, "root filesystem writable")

    def test_no_limits_fails(self):
        found = self.broken("user-service", lambda c: c["resources"].pop("limits"))
        self.assert_fails_with(found, "no memory in resources.limits")

    def test_a_probe_on_a_path_the_service_does_not_serve_fails(self):
        found = self.broken(
            "user-service", lambda c: c["readinessProbe"]["httpGet"].update(path="/ready")
        )
        self.assert_fails_with(found, "path /ready is no route of user-service")

    def test_a_probe_on_a_port_the_service_does_not_listen_on_fails(self):
        def move(c):
            c["env"] = [
                {"name": "USERS__SERVER__LISTEN", "value": "0.0.0.0:9999"} if e["name"] == "USERS__SERVER__LISTEN" else e
                for e in c["env"]
            ]

        found = self.broken("user-service", move)
        self.assert_fails_with(found, "the service listens on 9999")

    def test_an_env_key_the_service_does_not_read_fails(self):
        found = self.broken(
            "auth-service", lambda c: c["env"].append({"name": "AUTH__DATABASE__URI", "value": "x"})
        )
        self.assert_fails_with(found, "`uri` is no key of database")
        found = self.broken("gateway", lambda c: c["env"].append({"name": "LOG_LEVEL", "value": "x"}))
        self.assert_fails_with(found, "LOG_LEVEL is read nowhere in the code")

    def test_a_secret_value_in_production_fails(self):
        found = self.broken(
            "auth-service",
            lambda c: c["env"].append({"name": "AUTH__METRICS__TOKEN", "value": "s3cret"}),
            production=True,
        )
        self.assert_fails_with(found, "AUTH__METRICS__TOKEN: a literal value; take it from a Secret")
        objects = copy.deepcopy(self.production)
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "b"}})
        self.assert_fails_with(failures(objects, production=True), "a Secret with inline values")


if __name__ == "__main__":
    unittest.main()
