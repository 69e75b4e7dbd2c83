#!/usr/bin/env python3
"""Sends one db_proxy frame over TCP and prints the body of the reply.

usage: wire_call.py PORT COMMAND_ID BODY [--service N] [--timeout SECONDS]

COMMAND_ID may be hex (0x7a01). The request goes to 127.0.0.1:PORT with seq 1. Frames that
are not the answer (heartbeats, other seqs) are skipped. Prints "<service> <command> <body>"
with ids in hex, and exits 0; exits 1 on timeout, a closed connection or a bad frame.
Frame header (16 bytes, big-endian): length incl. header, version 1, flag, service id,
command id, seq, reserved.
"""

import argparse
import socket
import struct
import sys
import time

HEADER = struct.Struct(">IHHHHHH")


def read_exact(sock, n, deadline):
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply in time")
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed by dbproxyd")
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("command", type=lambda s: int(s, 0))
    parser.add_argument("body")
    parser.add_argument("--service", type=lambda s: int(s, 0), default=7)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()

    body = args.body.encode()
    seq = 1
    deadline = time.monotonic() + args.timeout
    try:
        with socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout) as sock:
            sock.sendall(HEADER.pack(HEADER.size + len(body), 1, 0, args.service, args.command,
                                     seq, 0) + body)
            while True:
                length, _version, _flag, service, command, rseq, _reserved = HEADER.unpack(
                    read_exact(sock, HEADER.size, deadline))
                if length < HEADER.size or length > 16 * 1024 * 1024:
                    raise ValueError(f"bad frame length {length}")
                reply = read_exact(sock, length - HEADER.size, deadline)
                if rseq != seq or command == 0x0701:  # heartbeat or someone else's answer
                    continue
                print(f"0x{service:04x} 0x{command:04x} {reply.decode(errors='replace')}")
                return 0
    except (OSError, TimeoutError, ConnectionError, ValueError) as e:
        print(f"wire_call: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
