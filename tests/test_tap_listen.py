"""
Tests for the listening and message options of L{welcome_protocol.tap}
(C{--listen}, C{--message}, C{--message-file}, C{--encoding}) and the
service L{makeService} builds from them.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.application.service import MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import parseServerOptions, temporaryPath
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.configuration.startup import StartupError, programName
from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.handshaking.proxyheader import HeaderFirstWrappingFactory
from welcome_protocol.listening.portrange import PortRangeService
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.tap import makeService


class ListenOptionTests(TestCase):
    """
    C{--listen} is repeatable, checked at once, and replaces C{--port}.
    """

    def test_defaultIsPort12000(self) -> None:
        """
        Without options, the service listens on TCP port 12000.
        """
        config = parseServerOptions()
        self.assertEqual(config.settings.listen, ("tcp:12000",))
        self.assertEqual(config["port"], 12000)

    def test_portWithoutListen(self) -> None:
        """
        C{--port} alone listens on that TCP port, as before.
        """
        self.assertEqual(parseServerOptions("--port", "0").settings.listen, ("tcp:0",))

    def test_listenRepeated(self) -> None:
        """
        Each C{--listen} (or C{-l}) is kept, in order, exactly as written.
        """
        config = parseServerOptions(
            "--listen", r"tcp6:0:interface=\:\:1", "-l", "unix:/run/w.sock"
        )
        self.assertEqual(
            config.settings.listen, (r"tcp6:0:interface=\:\:1", "unix:/run/w.sock")
        )

    def test_listenAndPortConflict(self) -> None:
        """
        C{--port} with C{--listen} is a usage error saying what to write.
        """
        e = self.assertRaises(
            usage.UsageError, parseServerOptions, "--port", "1", "--listen", "tcp:2"
        )
        self.assertEqual(
            str(e),
            "--port and --listen cannot be combined; write --listen tcp:1 instead",
        )

    def test_badDescription(self) -> None:
        """
        A bad description is a usage error naming it and why.
        """
        e = self.assertRaises(
            usage.UsageError,
            parseServerOptions,
            "--listen",
            "tcp:0",
            "--listen",
            "tpc:0",
        )
        self.assertEqual(str(e), "--listen 'tpc:0': unknown endpoint type 'tpc'")

    @settings(deadline=None)  # the first parse scans Twisted's plugins
    @given(
        st.lists(
            st.one_of(
                st.integers(0, 65535).map(lambda p: f"tcp:{p}:interface=127.0.0.1"),
                st.integers(0, 65535).map(lambda p: rf"tcp6:{p}:interface=\:\:1"),
                st.from_regex(r"\A/[a-z0-9_.-]{1,20}\Z").map(lambda p: f"unix:{p}"),
                st.integers(0, 65535).map(lambda p: f"haproxy:tcp:{p}"),
            ),
            min_size=1,
            max_size=5,
        )
    )
    def test_anyValidDescriptions(self, descriptions: list[str]) -> None:
        """
        Any list of valid descriptions is accepted and kept as written.
        """
        args = [arg for d in descriptions for arg in ("--listen", d)]
        self.assertEqual(parseServerOptions(*args).settings.listen, tuple(descriptions))

    @settings(deadline=None)  # the first parse scans Twisted's plugins
    @given(st.text(min_size=1, max_size=30))
    def test_anyTextAcceptedOrNamed(self, description: str) -> None:
        """
        Any text is either accepted or refused with a usage error that
        starts by naming it; nothing else escapes.
        """
        try:
            parseServerOptions("--listen", description)
        except usage.UsageError as e:
            self.assertTrue(str(e).startswith(f"--listen {description!r}: "), str(e))


class MessageOptionTests(TestCase):
    """
    C{--message}, C{--message-file} and C{--encoding}.
    """

    def test_defaultMessage(self) -> None:
        """
        The default message is C{Welcome!}, without a newline.
        """
        settings = parseServerOptions().settings
        self.assertEqual((settings.message, settings.template), (b"Welcome!", None))

    def test_messageExactly(self) -> None:
        """
        C{--message} is sent exactly as given.
        """
        settings = parseServerOptions("--message", "Hello\r\n").settings
        self.assertEqual(settings.message, b"Hello\r\n")
        self.assertIsNone(settings.template)

    def test_messageTemplate(self) -> None:
        """
        A message with placeholders becomes a template.
        """
        settings = parseServerOptions("--message", "Hello {peer_host}").settings
        assert settings.template is not None
        self.assertEqual(settings.template.placeholders, {"peer_host"})

    def test_unknownPlaceholder(self) -> None:
        """
        An unknown placeholder is a start-up error: one line, without
        twistd's usage text.
        """
        e = self.assertRaises(StartupError, parseServerOptions, "--message", "{peer}")
        self.assertTrue(e.reason.startswith("--message: unknown placeholder {peer};"))
        self.assertEqual(e.code, f"{programName()}: {e.reason}")

    def test_messageFile(self) -> None:
        """
        C{--message-file} is read once, as bytes, and remembered for SIGHUP.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"From a file\n")
        settings = parseServerOptions("--message-file", str(path)).settings
        self.assertEqual(settings.message, b"From a file\n")
        self.assertEqual(settings.messageFile, str(path))

    def test_missingFile(self) -> None:
        """
        A missing file is a start-up error naming it.
        """
        path = temporaryPath(self)
        e = self.assertRaises(StartupError, parseServerOptions, "--message-file", path)
        self.assertEqual(
            e.reason, f"cannot read message file {path}: no such file or directory"
        )

    def test_bothMessages(self) -> None:
        """
        C{--message} and C{--message-file} exclude each other.
        """
        e = self.assertRaises(
            usage.UsageError,
            parseServerOptions,
            "--message",
            "a",
            "--message-file",
            "b",
        )
        self.assertEqual(str(e), "--message and --message-file cannot be combined")

    def test_encoding(self) -> None:
        """
        C{--encoding} encodes C{--message} and decodes the file.
        """
        self.assertEqual(
            parseServerOptions(
                "--message", "Caf\xe9", "--encoding", "latin-1"
            ).settings.message,
            b"Caf\xe9",
        )
        path = Path(temporaryPath(self))
        path.write_bytes(b"Caf\xe9 {peer_port}")
        settings = parseServerOptions(
            "--message-file", str(path), "--encoding", "latin-1"
        ).settings
        assert settings.template is not None
        self.assertEqual(settings.encoding, "latin-1")

    def test_undecodableFile(self) -> None:
        """
        A file that does not decode is a start-up error naming it.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"Caf\xe9")
        e = self.assertRaises(
            StartupError, parseServerOptions, "--message-file", str(path)
        )
        self.assertEqual(
            e.reason,
            f"cannot decode message file {path} as utf-8: byte 0xe9 at offset 3 "
            "(unexpected end of data)",
        )

    def test_unknownEncoding(self) -> None:
        """
        An unknown encoding is a start-up error naming it.
        """
        e = self.assertRaises(
            StartupError, parseServerOptions, "--encoding", "ebcdic-9"
        )
        self.assertEqual(e.reason, "unknown text encoding 'ebcdic-9'")

    def test_undecodedArgumentBytes(self) -> None:
        """
        Argument bytes the locale could not decode (surrogate escapes) are
        sent as the bytes the user typed.
        """
        text = os.fsdecode(b"Caf\xe9")
        self.assertEqual(
            parseServerOptions(
                "--message", text, "--encoding", "latin-1"
            ).settings.message,
            b"Caf\xe9",
        )


class MakeServiceTests(TestCase):
    """
    L{makeService} listens on every description, greets with the message,
    and reloads it on SIGHUP.
    """

    def listeners(
        self, *args: str
    ) -> tuple[MemoryReactorClock, list[ListeningService]]:
        """
        Make the service for C{args} and start its listeners on a fake
        reactor.
        """
        reactor = MemoryReactorClock()
        service = makeService(parseServerOptions(*args), reactor=reactor)  # type: ignore[arg-type]
        assert isinstance(service, MultiService)
        listeners = [s for s in service if isinstance(s, ListeningService)]
        for listener in listeners:
            listener.privilegedStartService()
        return reactor, listeners

    def test_everyDescription(self) -> None:
        """
        There is one listener per C{--listen}, each on its endpoint.
        """
        path = temporaryPath(self)
        reactor, listeners = self.listeners(
            "--listen", "tcp:0:interface=127.0.0.1", "--listen", f"unix:{path}"
        )
        self.assertEqual(
            [listener.description for listener in listeners],
            ["tcp:0:interface=127.0.0.1", f"unix:{path}"],
        )
        self.assertEqual(reactor.tcpServers[0][0], 0)
        self.assertEqual(reactor.tcpServers[0][3], "127.0.0.1")
        self.assertEqual(reactor.unixServers[0][0], path)

    def test_sameFactoryEverywhere(self) -> None:
        """
        All listeners greet with the same factory, so a reload reaches all.
        """
        reactor, _ = self.listeners("--listen", "tcp:1", "--listen", "tcp:2")
        factories = {id(reactor.tcpServers[i][1]) for i in (0, 1)}
        self.assertEqual(len(factories), 1)
        self.assertIsInstance(reactor.tcpServers[0][1], WelcomeFactory)

    def test_proxyListener(self) -> None:
        """
        C{haproxy:} listeners wrap the factory to read the PROXY header first.
        """
        reactor, _ = self.listeners("--listen", "haproxy:tcp:0")
        factory = reactor.tcpServers[0][1]
        assert isinstance(factory, HeaderFirstWrappingFactory)
        self.assertIsInstance(factory.wrappedFactory, WelcomeFactory)

    def test_hangupService(self) -> None:
        """
        The service includes a SIGHUP handler service (started only with the
        rest).
        """
        service = makeService(parseServerOptions(), reactor=MemoryReactorClock())  # type: ignore[arg-type]
        assert isinstance(service, MultiService)
        self.assertEqual(len([s for s in service if isinstance(s, HangupService)]), 1)

    def test_settingsDefaults(self) -> None:
        """
        Settings made without the new options listen where they always did.
        """
        self.assertEqual(ServerSettings().listen, ("tcp:12000",))


class PortRangeOptionTests(TestCase):
    """
    A port range wherever C{twistd welcome} takes a port.
    """

    def test_listenRange(self) -> None:
        """
        C{--listen tcp:A-B} is kept as written, and made into one listener
        per port, grouped under one L{PortRangeService}, all greeting with
        the same factory.
        """
        config = parseServerOptions("--listen", "tcp:7000-7002:interface=127.0.0.1")
        self.assertEqual(config.settings.listen, ("tcp:7000-7002:interface=127.0.0.1",))
        reactor = MemoryReactorClock()
        service = makeService(config, reactor=reactor)  # type: ignore[arg-type]
        assert isinstance(service, MultiService)
        (group,) = [s for s in service if isinstance(s, PortRangeService)]
        self.assertEqual(
            [listener.description for listener in group.listeners],
            [f"tcp:{p}:interface=127.0.0.1" for p in (7000, 7001, 7002)],
        )
        group.privilegedStartService()
        self.assertEqual(
            [server[0] for server in reactor.tcpServers], [7000, 7001, 7002]
        )
        self.assertEqual(len({id(server[1]) for server in reactor.tcpServers}), 1)

    def test_portRange(self) -> None:
        """
        C{--port A-B} is C{tcp:A-B}.
        """
        config = parseServerOptions("--port", "7000-7009")
        self.assertEqual(config.settings.listen, ("tcp:7000-7009",))

    def test_mistakes(self) -> None:
        """
        A bad range, or a range with C{--workers}, is a usage error naming it.
        """
        for argv, message in [
            (["--port", "9-1"], "--port '9-1': port range '9-1': the range '9-1' ends"),
            (["--listen", "tcp:0-3"], "--listen 'tcp:0-3': port range '0-3': '0' is"),
            (
                ["--listen", "tcp:1-20000"],
                "--listen 'tcp:1-20000': port range '1-20000' has 20000 ports",
            ),
            (
                ["--listen", "tcp:7000-7001", "--workers", "2"],
                "--workers needs exactly one plain tcp: or tcp6: listener",
            ),
        ]:
            with self.assertRaises(usage.UsageError) as caught:
                parseServerOptions(*argv)
            self.assertTrue(str(caught.exception).startswith(message), caught.exception)
