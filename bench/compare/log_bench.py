"""The cost of logging every request (issue 15): gw7 with its JSON access log written to a file
against gw7 without it, and HAProxy (mode http) with a JSON log-format sent to a local syslog
socket whose receiver appends each line to a file, against HAProxy without logging. Both log
variants run through the l7-keepalive scenario; they are not in the default proxy list.

Run:  bench/compare/compare --scenarios l7-keepalive \
          --proxies gw7,gw7-log,haproxy-http,haproxy-log --subject gw7-log \
          --baselines gw7,haproxy-log --repeat 5

The target (information, like the others): gw7-log's CPU per request at most 1.10x gw7's.
The syslog receiver runs in this script (on the load CPU), so HAProxy pays for formatting and
sending each line, as gw7 pays for formatting and queueing its own (its writer thread is part of
gw7's process and counted).
"""

import os
import socket
import threading

import l7_bench
import proxies
import report


@proxies.register
class Gw7Log(l7_bench.Gw7):
    name = "gw7-log"
    title = "gw7 with the JSON access log to a file"
    default = False

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        log = os.path.join(self.dir, "access.log")
        section = f'[gw7.access_log]\npath = "{log}"\n\n'
        return name, text.replace("[[upstream]]", section + "[[upstream]]", 1)


class SyslogFileReceiver:
    """A unix datagram socket whose every message is appended to a file as one line."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "syslog.sock")
        self.out = open(os.path.join(directory, "haproxy-access.log"), "ab", buffering=1 << 20)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:  # root may exceed net.core.rmem_max: room for bursts, so that HAProxy drops no line
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind(self.path)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            self.out.write(data.rstrip(b"\n") + b"\n")


@proxies.register
class HAProxyLog(l7_bench.HAProxyHttp):
    name = "haproxy-log"
    title = "HAProxy (mode http) with a JSON log-format to a file through a local syslog socket"
    default = False

    # HAProxy's own fields for what gw7's line holds (time, ids, client, route, server, request,
    # status, bytes both ways, timings).
    LOG_FORMAT = ('{"time":"%tr","request_id":"%ID","client":"%ci:%cp","route":"%f",'
                  '"upstream":"%b","upstream_server":"%si:%sp","method":"%HM","path":"%HU",'
                  '"protocol":"%HV","status":%ST,"bytes_in":%U,"bytes_out":%B,"duration_ms":%Ta,'
                  '"upstream_connect_ms":%Tc,"upstream_first_byte_ms":%Tr,"retries":%rc,'
                  '"termination":"%tsc"}')

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        receiver = SyslogFileReceiver(self.dir)
        text = text.replace("global\n", f"global\n    log {receiver.path} len 4096 local0 info\n", 1)
        fmt = self.LOG_FORMAT.replace('"', '\\"')
        text = text.replace("defaults\n", f'defaults\n    log global\n    log-format "{fmt}"\n', 1)
        return name, text


report.ISSUE_TARGETS += [
    report.Target("l7-keepalive", "cpu_us_per_req", "gw7-log", "gw7", 1.10,
                  "L7 CPU per keep-alive request with the access log on vs off"),
]
