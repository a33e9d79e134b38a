"""
Tests for L{welcome_protocol.exporter.modules}: blackbox_exporter's modules
file, and every option we do not support refused in one line naming it.
"""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.exporter.modules import (
    ModuleFileError,
    loadModules,
    parseDuration,
    parseModules,
)


class DurationTests(TestCase):
    """
    Prometheus durations.
    """

    def test_units(self) -> None:
        """
        C{5s}, C{1m30s}, C{500ms} and C{1h} are read as seconds.
        """
        self.assertEqual(parseDuration("5s"), 5.0)
        self.assertEqual(parseDuration("1m30s"), 90.0)
        self.assertEqual(parseDuration("500ms"), 0.5)
        self.assertEqual(parseDuration("1h"), 3600.0)

    def test_bad(self) -> None:
        """
        A number without a unit, a unit without a number and text after a
        duration are refused.
        """
        for text in ("5", "s", "5s!", "", "-5s", "5 s"):
            with self.assertRaises(ValueError, msg=text):
                parseDuration(text)


class ParseModulesTests(TestCase):
    """
    The layout, as blackbox_exporter reads it.
    """

    def test_tcpModule(self) -> None:
        """
        Every option of a C{tcp} module that applies is read.
        """
        modules = parseModules(
            {
                "modules": {
                    "m": {
                        "prober": "tcp",
                        "timeout": "2s",
                        "tcp": {
                            "preferred_ip_protocol": "ip4",
                            "ip_protocol_fallback": False,
                            "source_ip_address": "127.0.0.1",
                            "query_response": [
                                {
                                    "expect": "^Welcome (?P<who>\\w+)",
                                    "labels": [{"name": "who", "value": "${who}"}],
                                }
                            ],
                        },
                    }
                }
            }
        )
        module = modules["m"]
        self.assertEqual(module.prober, "tcp")
        self.assertEqual(module.timeout, 2.0)
        self.assertEqual(module.family, 4)
        self.assertFalse(module.fallback)
        self.assertEqual(module.source, "127.0.0.1")
        self.assertEqual(len(module.expects), 1)
        self.assertEqual(module.expects[0].labels, (("who", "${who}"),))

    def test_defaults(self) -> None:
        """
        Without options, a module prefers IPv6 and falls back, as
        blackbox_exporter does, and takes the scrape's timeout.
        """
        module = parseModules({"modules": {"m": {"prober": "welcome"}}})["m"]
        self.assertEqual((module.family, module.fallback), (6, True))
        self.assertIsNone(module.timeout)

    def assertRefused(self, document: object, words: str) -> None:
        """
        Assert that C{document} is refused in one line containing C{words}.
        """
        with self.assertRaises(ModuleFileError) as caught:
            parseModules(document)
        message = str(caught.exception)
        self.assertIn(words, message)
        self.assertNotIn("\n", message)

    def test_unsupportedOptionsNamed(self) -> None:
        """
        Each option we do not support is refused, named with its module.
        """
        cases = [
            ({"prober": "http"}, "prober 'http' is not supported"),
            ({"prober": "icmp", "icmp": {}}, "is not supported"),
            (
                {
                    "prober": "tcp",
                    "tcp": {"tls": True, "tls_config": {"insecure_skip_verify": True}},
                },
                "module 'm'.tcp.tls_config.insecure_skip_verify is not supported",
            ),
            (
                {"prober": "tcp", "tcp": {"query_response": [{"send": "HELLO"}]}},
                "send is not supported",
            ),
            (
                {
                    "prober": "tcp",
                    "tcp": {"query_response": [{"expect": "x", "starttls": True}]},
                },
                "query_response[0].starttls is not supported",
            ),
            (
                {
                    "prober": "tcp",
                    "tcp": {"tls": True, "tls_config": {"cert_file": "c"}},
                },
                "tls_config.cert_file is not supported",
            ),
            (
                {"prober": "tcp", "tcp": {"dns_sd_config": 1}},
                "tcp.dns_sd_config is not supported",
            ),
            (
                {"prober": "udp", "udp": {"source_ip_address": "::1"}},
                "udp.source_ip_address is not supported",
            ),
            ({"prober": "tcp", "timout": "5s"}, "module 'm'.timout is not supported"),
        ]
        for settings, words in cases:
            self.assertRefused({"modules": {"m": settings}}, words)

    def test_badValues(self) -> None:
        """
        Bad values are refused, naming the option.
        """
        cases = [
            ({"prober": "tcp", "timeout": "soon"}, "timeout"),
            ({"prober": "tcp", "timeout": "0s"}, "timeout must be above 0"),
            (
                {"prober": "tcp", "tcp": {"preferred_ip_protocol": "ip5"}},
                "preferred_ip_protocol",
            ),
            ({"prober": "tcp", "tcp": {"query_response": [{"expect": "("}]}}, "expect"),
            ({"prober": "tcp", "tcp": {"tls": "yes"}}, "tcp.tls must be true or false"),
            (
                {"prober": "tcp", "tcp": {"tls_config": {"server_name": "x"}}},
                "needs tls: true",
            ),
            ({"prober": "udp", "udp": {"pad_to": 70000}}, "pad_to"),
            (
                {
                    "prober": "tcp",
                    "tcp": {"tls": True, "tls_config": {"server_name": "a..b"}},
                },
                "tls_config.server_name",
            ),
            ({"prober": "tcp", "udp": {}}, "udp settings given to a tcp prober"),
        ]
        for settings, words in cases:
            self.assertRefused({"modules": {"m": settings}}, words)

    def test_topLevel(self) -> None:
        """
        A file with no modules, or with another top-level key, is refused.
        """
        self.assertRefused({}, "no modules")
        self.assertRefused({"modules": {}, "other": 1}, "other is not supported")
        self.assertRefused(["modules"], "must be a mapping")


class LoadModulesTests(TestCase):
    """
    Reading the file.
    """

    def write(self, text: str) -> str:
        """
        @return: The path of a new file holding C{text}.
        """
        path = Path(temporaryPath(self))
        path.write_text(text)
        return str(path)

    def test_missingFile(self) -> None:
        """
        A file that cannot be read is named, with the reason.
        """
        path = temporaryPath(self)
        with self.assertRaises(ModuleFileError) as caught:
            loadModules(path)
        self.assertEqual(str(caught.exception), f"{path}: no such file or directory")

    def test_notYAML(self) -> None:
        """
        A file that is not YAML gets one line naming it.
        """
        path = self.write("modules: [\n")
        with self.assertRaises(ModuleFileError) as caught:
            loadModules(path)
        self.assertTrue(str(caught.exception).startswith(f"{path}: not valid YAML"))
        self.assertNotIn("\n", str(caught.exception))

    def test_caFileChecked(self) -> None:
        """
        A C{ca_file} that holds no certificate is refused at start.
        """
        ca = self.write("not a certificate\n")
        path = self.write(
            "modules:\n  m:\n    prober: tcp\n    tcp:\n      tls: true\n"
            f"      tls_config:\n        ca_file: {ca}\n"
        )
        with self.assertRaises(ModuleFileError) as caught:
            loadModules(path)
        self.assertIn("tls_config.ca_file", str(caught.exception))
        self.assertIn("no PEM certificate", str(caught.exception))
