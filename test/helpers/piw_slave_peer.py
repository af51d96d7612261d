#!/usr/bin/python3
"""A scripted piw-slave for Kiln's tests.

It speaks piwheels' slave protocol message by message, as piw-slave 0.23
does (see shared/reference/piwheels.md): a ZeroMQ REQ socket on the slave
queue with CBOR messages (timedelta as tag 2001 [days, seconds, microseconds],
aware datetimes), and a DEALER socket on the file queue with raw multipart
frames (HELLO / FETCH / CHUNK / DONE). It builds with real pip, the way
piw-slave runs it, and can inject faults: out-of-order messages, corrupted
chunks, silence. It needs Debian's python3-zmq and python3-cbor2.

Every message sent and received is printed to stdout as one JSON line, so the
test can read the whole session.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cbor2
import zmq


def encoder(enc, value):
    if isinstance(value, timedelta):
        enc.encode(cbor2.CBORTag(2001, (value.days, value.seconds, value.microseconds)))
    else:
        raise cbor2.CBOREncodeError('cannot serialize %s' % type(value).__name__)


def decoder(dec, tag):
    if tag.tag == 2001:
        d, s, us = tag.value
        return timedelta(days=d, seconds=s, microseconds=us)
    if tag.tag == 2002:
        return None
    return tag


def say(direction, msg, data=None):
    print(json.dumps({'dir': direction, 'msg': msg, 'data': data}, default=str), flush=True)


def stats():
    return [datetime.now(tz=timezone.utc), 10**10, 5 * 10**9, 8 * 10**9, 4 * 10**9, 0, 0, 0.5, 40.0]


class Peer:
    def __init__(self, args):
        self.args = args
        self.ctx = zmq.Context.instance()
        self.queue = self.ctx.socket(zmq.REQ)
        self.queue.linger = 0
        self.queue.connect(args.slave_queue)
        self.corrupt_left = args.corrupt_chunks
        self.raw_next = None

    def send(self, msg, data=None):
        say('send', msg, data)
        if self.raw_next is not None:
            self.queue.send(self.raw_next)
            self.raw_next = None
        elif data is None:
            self.queue.send(cbor2.dumps(msg, default=encoder))
        else:
            self.queue.send(cbor2.dumps([msg, data], default=encoder, timezone=timezone.utc))

    def recv(self, timeout=30):
        if not self.queue.poll(timeout * 1000):
            say('timeout', None)
            return None, None
        raw = cbor2.loads(self.queue.recv(), tag_hook=decoder)
        msg, data = (raw, None) if isinstance(raw, str) else raw
        say('recv', msg, data)
        return msg, data

    def hello(self):
        a = self.args
        self.send('HELLO', [timedelta(seconds=a.build_timeout), timedelta(seconds=a.busy_timeout), a.py_version,
                            a.abi, a.platform, a.label, 'Debian GNU/Linux', '12', 'test-rev', 'test-serial'])
        return self.recv()

    def build(self, package, version, url):
        """Run pip as piw-slave does; returns (ok, duration, output, files, wheel dir)."""
        wheel_dir = Path(tempfile.mkdtemp(prefix='piw-peer-'))
        log = wheel_dir / 'build.log'
        cmd = [self.args.pip_python, '-m', 'pip', 'wheel', '%s==%s' % (package, version),
               '--wheel-dir=%s' % wheel_dir, '--log=%s' % log, '--no-deps', '--no-cache-dir',
               '--no-binary=%s' % package, '--prefer-binary', '--exists-action=w',
               '--disable-pip-version-check', '--index-url=%s' % url]
        start = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc, start, wheel_dir, log

    def files_of(self, wheel_dir):
        out = []
        for path in sorted(wheel_dir.glob('*.whl')):
            data = path.read_bytes()
            parts = path.stem.split('-')
            digest = '0' * 64 if self.args.wrong_hash else hashlib.sha256(data).hexdigest()
            entry = [path.name, len(data), digest, parts[0], parts[1], parts[-3], parts[-2], parts[-1]]
            if self.args.file_fields == 11:
                entry += [None, {'apt': ['libc6']}, '']
            else:
                entry += [{'apt': ['libc6']}]
            out.append(entry)
        return out

    def transfer(self, path, slave_id):
        q = self.ctx.socket(zmq.DEALER)
        q.linger = 0
        q.hwm = 10
        q.connect(self.args.file_queue)
        try:
            with open(path, 'rb') as f:
                timeout = 0
                while True:
                    if not q.poll(timeout * 1000):
                        q.send_multipart([b'HELLO', str(slave_id).encode('ascii')])
                        say('file-send', 'HELLO', slave_id)
                        timeout = 5
                    else:
                        req, *args = q.recv_multipart()
                        if req == b'DONE':
                            say('file-recv', 'DONE')
                            return
                        if req == b'FETCH':
                            offset, size = args
                            f.seek(int(offset))
                            chunk = f.read(int(size))
                            if self.corrupt_left > 0:
                                self.corrupt_left -= 1
                                chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                                say('file-send', 'CHUNK (corrupted)', int(offset))
                            q.send_multipart([b'CHUNK', offset, chunk])
        finally:
            q.close()

    def run(self):
        a = self.args
        msg, data = self.hello()
        if msg != 'ACK':
            return 1
        slave_id, url = data
        if a.script == 'out-of-order':
            # SENT before any build: the master must answer DIE.
            self.send('SENT')
            msg, _ = self.recv()
            return 0 if msg == 'DIE' else 1
        if a.script == 'garbage':
            self.raw_next = b'\xff\x00not cbor'
            self.send('(garbage)')
            msg, _ = self.recv()
            return 0 if msg == 'DIE' else 1
        builds = 0
        sleeps = 0
        self.send('IDLE', stats())
        builder = None
        wheels = []
        while True:
            msg, data = self.recv()
            if msg is None:
                return 2
            if msg == 'DIE':
                return 0
            if msg == 'SLEEP':
                sleeps += 1
                if sleeps > a.max_sleeps:
                    self.send('BYE')
                    return 3
                time.sleep(a.sleep)
                self.send('IDLE', stats())
            elif msg == 'BUILD':
                package, version = data
                builder = self.build(package, version, url)
                if a.script == 'vanish':
                    self.send('BUSY', stats())
                    self.recv()
                    builder[0].kill()
                    say('vanish', None)
                    return 0
                self.send('BUSY', stats())
            elif msg == 'CONT':
                proc, start, wheel_dir, log = builder
                try:
                    proc.wait(a.busy_interval)
                except subprocess.TimeoutExpired:
                    self.send('BUSY', stats())
                    continue
                ok = proc.returncode == 0
                output = log.read_text() if log.exists() else ''
                wheels = self.files_of(wheel_dir) if ok else []
                self.send('BUILT', [ok, timedelta(seconds=time.time() - start), output, wheels])
            elif msg == 'SEND':
                wheel_dir = builder[2]
                self.transfer(wheel_dir / data, slave_id)
                self.send('SENT')
            elif msg == 'DONE':
                if builder:
                    builder[0].kill()
                builder = None
                builds += 1
                if builds >= a.builds:
                    self.send('BYE')
                    return 0
                self.send('IDLE', stats())
            else:
                return 4


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--slave-queue', required=True)
    p.add_argument('--file-queue', required=True)
    p.add_argument('--pip-python', default=sys.executable)
    p.add_argument('--abi', default='cp311')
    p.add_argument('--platform', default='linux_x86_64')
    p.add_argument('--py-version', default='311')
    p.add_argument('--label', default='peer')
    p.add_argument('--build-timeout', type=float, default=3 * 3600)
    p.add_argument('--busy-timeout', type=float, default=300)
    p.add_argument('--builds', type=int, default=1)
    p.add_argument('--sleep', type=float, default=0.2)
    p.add_argument('--max-sleeps', type=int, default=300)
    p.add_argument('--busy-interval', type=float, default=0.5)
    p.add_argument('--corrupt-chunks', type=int, default=0)
    p.add_argument('--wrong-hash', action='store_true', help='declare a wrong sha256 in BUILT')
    p.add_argument('--file-fields', type=int, choices=(9, 11), default=11)
    p.add_argument('--script', choices=('build', 'out-of-order', 'garbage', 'vanish'), default='build')
    sys.exit(Peer(p.parse_args()).run())


if __name__ == '__main__':
    main()
