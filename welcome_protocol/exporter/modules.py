# -*- test-case-name: tests.test_exporter_modules -*-
"""
C{--config FILE}: the modules, in blackbox_exporter's own YAML layout.

The parts of that layout that apply to a TCP, UDP or welcome probe are read
as blackbox_exporter reads them::

    modules:
      welcome_tls:
        prober: tcp            # or udp, or welcome
        timeout: 5s
        tcp:                   # udp: for prober udp, welcome: for welcome
          preferred_ip_protocol: ip4
          ip_protocol_fallback: false
          source_ip_address: 127.0.0.1
          tls: true
          tls_config: {ca_file: ca.pem, server_name: welcome.example}
          query_response:
            - expect: "^Welcome"

Anything else (another prober, C{send}, C{starttls}, a client certificate,
C{insecure_skip_verify}, a misspelt key) is refused at start, in one line
that names the module and the option: a module that silently ignored an
option would probe something else than its author meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations

from welcome_protocol.exporter import probing

PROBERS = ("tcp", "udp", "welcome")
DEFAULT_SCRAPE_TIMEOUT = 120.0
"""
The scrape's timeout when Prometheus does not say
(C{X-Prometheus-Scrape-Timeout-Seconds}), as blackbox_exporter assumes.
"""

MAX_MODULE_TIMEOUT = 600.0

_DURATION = re.compile(r"(?:(\d+)(ms|s|m|h|d|w|y))")
_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}


class ModuleFileError(Exception):
    """
    The modules file is unreadable or says something we do not do;
    C{str()} of this is the one line to show.
    """


def parseDuration(text: str) -> float:
    """
    Read a Prometheus duration, such as C{5s}, C{1m30s} or C{500ms}.

    @return: Seconds.
    @raise ValueError: For anything else.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"{text!r} is not a duration such as 5s or 1m30s")
    position = 0
    seconds = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"{text!r} is not a duration such as 5s or 1m30s")
    return seconds


@attrs.frozen
class Expect:
    """
    One C{query_response} entry: a regular expression the reply must match.

    @ivar pattern: The compiled expression (bytes: a reply need not be
        text).
    @ivar labels: C{(name, value template)} pairs for C{probe_expect_info},
        whose values may name the match's groups (C{${1}}, C{${name}}).
    """

    pattern: re.Pattern[bytes]
    labels: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Module:
    """
    One module of the file, checked.

    @ivar name: Its name, as C{module=} names it.
    @ivar prober: C{tcp}, C{udp} or C{welcome}.
    @ivar timeout: Its C{timeout} in seconds, or L{None} to use the
        scrape's.
    @ivar expects: The C{query_response} expectations, in order.
    @ivar tls: Whether to speak TLS (C{tcp} and C{welcome}).
    @ivar caFile: C{tls_config.ca_file}, or L{None} for the system's roots.
    @ivar serverName: C{tls_config.server_name}, or L{None} for the
        target's host.
    @ivar family: C{preferred_ip_protocol}, 4 or 6.
    @ivar fallback: C{ip_protocol_fallback}: the other family will do.
    @ivar source: C{source_ip_address}, or L{None}.
    @ivar pad: The UDP probe's size in bytes.
    @ivar retries: UDP tries after the first.
    @ivar settings: The module as the file wrote it, for C{?debug=true}.
    """

    name: str
    prober: str
    timeout: float | None = None
    expects: tuple[Expect, ...] = ()
    tls: bool = False
    caFile: str | None = None
    serverName: str | None = None
    family: int = 6
    fallback: bool = True
    source: str | None = None
    pad: int = probing.DEFAULT_UDP_PAD
    retries: int = probing.DEFAULT_UDP_RETRIES
    settings: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


_MODULE_KEYS = frozenset({"prober", "timeout", "tcp", "udp", "welcome"})
_STREAM_KEYS = frozenset(
    {
        "query_response",
        "tls",
        "tls_config",
        "preferred_ip_protocol",
        "ip_protocol_fallback",
        "source_ip_address",
    }
)
_UDP_KEYS = frozenset(
    {
        "query_response",
        "preferred_ip_protocol",
        "ip_protocol_fallback",
        "pad_to",
        "retries",
    }
)
_TLS_KEYS = frozenset({"ca_file", "server_name"})
_QUERY_KEYS = frozenset({"expect", "labels"})
_FAMILIES = {"ip4": 4, "ip6": 6, "": 6}


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModuleFileError(f"{where} must be a mapping")
    return value


def _known(settings: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in settings:
        if key not in allowed:
            raise ModuleFileError(f"{where}.{key} is not supported")


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ModuleFileError(f"{where} must be true or false")
    return value


def _expects(value: object, where: str) -> tuple[Expect, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ModuleFileError(f"{where} must be a list")
    expects = []
    for number, entry in enumerate(value):
        here = f"{where}[{number}]"
        entry = _mapping(entry, here)
        _known(entry, _QUERY_KEYS, here)
        if "expect" not in entry:
            raise ModuleFileError(f"{here} has no expect (send is not supported)")
        text = entry["expect"]
        if not isinstance(text, str):
            raise ModuleFileError(f"{here}.expect must be a regular expression")
        try:
            pattern = re.compile(text.encode("utf-8"))
        except re.error as e:
            raise ModuleFileError(f"{here}.expect: {e}") from None
        labels = []
        rawLabels = entry.get("labels") or []
        if not isinstance(rawLabels, list):
            raise ModuleFileError(f"{here}.labels must be a list")
        for label in rawLabels:
            label = _mapping(label, f"{here}.labels")
            _known(label, frozenset({"name", "value"}), f"{here}.labels")
            name, template = label.get("name"), label.get("value", "")
            if not (isinstance(name, str) and re.fullmatch(r"[a-zA-Z_]\w*", name)):
                raise ModuleFileError(f"{here}.labels: {name!r} is not a label name")
            labels.append((name, str(template)))
        expects.append(Expect(pattern, tuple(labels)))
    return tuple(expects)


def _family(settings: Mapping[str, Any], where: str) -> tuple[int, bool]:
    preferred = settings.get("preferred_ip_protocol", "ip6")
    if preferred not in _FAMILIES:
        raise ModuleFileError(f"{where}.preferred_ip_protocol must be ip4 or ip6")
    fallback = _flag(
        settings.get("ip_protocol_fallback", True), f"{where}.ip_protocol_fallback"
    )
    return _FAMILIES[preferred], fallback


def _count(value: object, where: str, low: int, high: int) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not low <= value <= high
    ):
        raise ModuleFileError(f"{where} must be a whole number from {low} to {high}")
    return value


def parseModule(name: str, settings: object) -> Module:
    """
    Check one module and build it.

    @param name: The module's name.
    @param settings: What the file says under it.
    @raise ModuleFileError: Naming the module and the option.
    """
    where = f"module {name!r}"
    settings = _mapping(settings, where)
    _known(settings, _MODULE_KEYS, where)
    prober = settings.get("prober")
    if prober not in PROBERS:
        raise ModuleFileError(
            f"{where}: prober {prober!r} is not supported (tcp, udp or welcome)"
        )
    for other in ("tcp", "udp", "welcome"):
        if other != prober and other in settings:
            raise ModuleFileError(
                f"{where}: {other} settings given to a {prober} prober"
            )
    timeout = None
    if "timeout" in settings:
        try:
            timeout = parseDuration(settings["timeout"])
        except ValueError as e:
            raise ModuleFileError(f"{where}.timeout: {e}") from None
        if not 0 < timeout <= MAX_MODULE_TIMEOUT:
            raise ModuleFileError(
                f"{where}.timeout must be above 0 and at most {MAX_MODULE_TIMEOUT:g}s"
            )
    section = f"{where}.{prober}"
    own = _mapping(settings.get(prober), section)
    family, fallback = _family(own, section)
    expects = _expects(own.get("query_response"), f"{section}.query_response")
    if prober == "udp":
        _known(own, _UDP_KEYS, section)
        return Module(
            name,
            prober,
            timeout,
            expects,
            family=family,
            fallback=fallback,
            pad=_count(
                own.get("pad_to", probing.DEFAULT_UDP_PAD),
                f"{section}.pad_to",
                1,
                probing.MAX_UDP_PAD,
            ),
            retries=_count(
                own.get("retries", probing.DEFAULT_UDP_RETRIES),
                f"{section}.retries",
                0,
                10,
            ),
            settings=settings,
        )
    _known(own, _STREAM_KEYS, section)
    tlsConfig = _mapping(own.get("tls_config"), f"{section}.tls_config")
    _known(tlsConfig, _TLS_KEYS, f"{section}.tls_config")
    tls = _flag(own.get("tls", False), f"{section}.tls")
    if tlsConfig and not tls:
        raise ModuleFileError(f"{section}.tls_config needs tls: true")
    caFile = tlsConfig.get("ca_file")
    serverName = tlsConfig.get("server_name")
    for key, value in (("ca_file", caFile), ("server_name", serverName)):
        if value is not None and not (isinstance(value, str) and value):
            raise ModuleFileError(f"{section}.tls_config.{key} must be text")
    if serverName is not None:
        problem = probing.checkServerName(serverName)
        if problem is not None:
            raise ModuleFileError(f"{section}.tls_config.server_name: {problem}")
    if caFile is not None:
        try:
            probing.tlsOptions("localhost", caFile)
        except ValueError as e:
            raise ModuleFileError(f"{section}.tls_config.ca_file: {e}") from None
    source = own.get("source_ip_address")
    if source is not None and probing.addressFamily(str(source)) is None:
        raise ModuleFileError(f"{section}.source_ip_address must be an IP address")
    return Module(
        name,
        prober,
        timeout,
        expects,
        tls,
        caFile,
        serverName,
        family,
        fallback,
        None if source is None else str(source),
        settings=settings,
    )


def parseModules(document: object) -> dict[str, Module]:
    """
    Check a whole modules file, already read as YAML.

    @raise ModuleFileError: For the first problem, in one line.
    """
    top = _mapping(document, "the file")
    _known(top, frozenset({"modules"}), "the file: key")
    modules = _mapping(top.get("modules"), "modules")
    if not modules:
        raise ModuleFileError("it defines no modules")
    return {str(name): parseModule(str(name), value) for name, value in modules.items()}


def loadModules(path: str) -> dict[str, Module]:
    """
    Read and check the modules file at C{path}.

    @raise ModuleFileError: Starting with the path, in one line.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except OSError as e:
        raise ModuleFileError(f"{path}: {(e.strerror or str(e)).lower()}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModuleFileError(f"{path}: not valid YAML: {first}") from None
    try:
        return parseModules(document)
    except ModuleFileError as e:
        raise ModuleFileError(f"{path}: {e}") from None


def defaultModules() -> dict[str, Module]:
    """
    The modules without C{--config}: C{tcp_connect} (blackbox_exporter's
    example module of that name), C{welcome} and C{udp}.
    """
    return {
        "tcp_connect": Module(
            "tcp_connect", "tcp", 5.0, settings={"prober": "tcp", "timeout": "5s"}
        ),
        "welcome": Module(
            "welcome", "welcome", 5.0, settings={"prober": "welcome", "timeout": "5s"}
        ),
        "udp": Module("udp", "udp", 5.0, settings={"prober": "udp", "timeout": "5s"}),
    }
