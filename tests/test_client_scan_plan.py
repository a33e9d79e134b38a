"""
Tests for L{welcome_protocol.client.scan.plan}: targets, C{--ports},
C{--targets-file} and C{--expect-closed} turned into checks.
"""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.client.scan.plan import (
    MAX_CHECKS,
    PortCheck,
    ScanPlan,
    ScanTarget,
    makePlan,
    wantsScan,
)


def plan(
    *targets: str,
    host: str | None = None,
    port: str | None = None,
    ports: str | None = None,
    targetsFile: str | None = None,
    expectClosed: str | None = None,
) -> ScanPlan:
    """
    L{makePlan} with this host's name C{here} and the default port 12000.
    """
    return makePlan(
        targets, host, port, ports, targetsFile, expectClosed, lambda: "here", 12000
    )


class WantsScanTests(TestCase):
    """
    L{wantsScan}: when the client checks many ports rather than probing one.
    """

    def test_scan(self) -> None:
        """
        A port list, several targets, or any scan option.
        """
        self.assertTrue(wantsScan(["h:1-3"], None, None, None))
        self.assertTrue(wantsScan(["h:1,3"], None, None, None))
        self.assertTrue(wantsScan(["a", "b"], None, None, None))
        self.assertTrue(wantsScan([], "1", None, None))
        self.assertTrue(wantsScan([], None, "f", None))
        self.assertTrue(wantsScan(["h"], None, None, "22"))

    def test_single(self) -> None:
        """
        One target with one port (or none) is the single probe, unchanged.
        """
        for targets in ([], ["h"], ["h:1"], ["[::1]:1"], ["[bad"]):
            self.assertFalse(wantsScan(targets, None, None, None), targets)


class MakePlanTests(TestCase):
    """
    L{makePlan}.
    """

    def test_portsOfTargets(self) -> None:
        """
        A target's own ports win; the others get C{--ports}.
        """
        made = plan("a:1-2", "[::1]", "b", ports="7,8")
        self.assertEqual(
            made.targets,
            (
                ScanTarget("a", (1, 2)),
                ScanTarget("::1", (7, 8)),
                ScanTarget("b", (7, 8)),
            ),
        )
        self.assertEqual(len(made), 6)
        self.assertEqual(made.hosts, ("a", "::1", "b"))

    def test_defaults(self) -> None:
        """
        Without a target, this host's name; without ports, C{--port} or the
        default port.
        """
        self.assertEqual(plan(ports="1").targets, (ScanTarget("here", (1,)),))
        self.assertEqual(
            plan("a", "b").targets,
            (ScanTarget("a", (12000,)), ScanTarget("b", (12000,))),
        )
        self.assertEqual(plan("a", "b", port="5").targets[0], ScanTarget("a", (5,)))
        self.assertEqual(
            plan(host="::1", ports="1").targets, (ScanTarget("::1", (1,)),)
        )

    def test_expectClosed(self) -> None:
        """
        C{--expect-closed} ports are added to every target, expected closed,
        and taken out of its other ports; given alone, only they are checked.
        """
        made = plan("a:1-3", "b", ports="9", expectClosed="3,4")
        self.assertEqual(
            list(made.checks()),
            [
                PortCheck(0, "a", 1, False),
                PortCheck(0, "a", 2, False),
                PortCheck(0, "a", 3, True),
                PortCheck(0, "a", 4, True),
                PortCheck(1, "b", 9, False),
                PortCheck(1, "b", 3, True),
                PortCheck(1, "b", 4, True),
            ],
        )
        self.assertEqual(
            plan("a", expectClosed="22").targets, (ScanTarget("a", (), (22,)),)
        )

    def test_targetsFile(self) -> None:
        """
        One target a line; blank lines and comments are skipped; the file's
        targets follow the command line's.
        """
        path = Path(temporaryPath(self))
        path.write_text("# hosts\nb:2\n\n  c   # third\n")
        made = plan("a:1", targetsFile=str(path), ports="5")
        self.assertEqual(
            made.targets,
            (ScanTarget("a", (1,)), ScanTarget("b", (2,)), ScanTarget("c", (5,))),
        )

    def test_mistakes(self) -> None:
        """
        Every mistake is one line naming the option, the target, or the
        file and line.
        """
        path = Path(temporaryPath(self))
        path.write_text("good\nbad..name\n")
        empty = Path(temporaryPath(self))
        empty.write_text("# nothing\n")
        for kwargs, targets, message in [
            ({"port": "1", "ports": "2"}, (), "--port and --ports cannot be combined"),
            ({"host": "h"}, ("t:1-2",), "'t:1-2' cannot be combined with --host"),
            ({"ports": "x"}, (), "--ports 'x': 'x' is not a port from 1 to 65535"),
            ({"port": "1-2"}, ("a", "b"), "--port '1-2': one port only; use --ports"),
            ({"expectClosed": ""}, (), "--expect-closed '': not a port list"),
            ({}, ("h:9-1",), "'h:9-1': the range '9-1' ends before it starts"),
            ({}, ("a..b:1,2",), "'a..b:1,2': 'a..b' is not a valid host name"),
            ({}, ("[::1:1,2",), "'[::1:1,2': '[::1:1,2' is not HOST"),
            (
                {"targetsFile": str(path)},
                (),
                f"--targets-file {path}, line 2: 'bad..name' is not a valid host",
            ),
            (
                {"targetsFile": str(empty)},
                (),
                f"--targets-file {empty}: no target in it",
            ),
            (
                {"targetsFile": str(path) + ".gone"},
                (),
                f"--targets-file {path}.gone: no such file or directory",
            ),
            (
                {"ports": "1-65535"},
                ("a", "b"),
                f"131070 port checks asked for; at most {MAX_CHECKS} in one run",
            ),
        ]:
            with self.assertRaises(ValueError) as caught:
                plan(*targets, **kwargs)
            self.assertTrue(str(caught.exception).startswith(message), caught.exception)
