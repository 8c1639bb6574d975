#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# pool-cotenant.py - the pool co-tenants of test-pool-cotenants.sh: cloud-init's
# real KVP reporter, a lock-less appender behaving like LISA's kvp_client, and
# the checker that counts what they lost.
"""
  cloud-init POOLFILE STOPFILE LOG   publish events through cloud-init's own
        HyperVKvpReportingHandler (PYTHONPATH must hold cloud-init) until
        STOPFILE exists; after each flush() the event's name goes to LOG
  lockless POOLFILE COUNT LOG        append COUNT records the way kvp_client
        does: open for append, take only an fcntl read lock on another
        descriptor, let go of it, and write the whole record at close;
        each record's key goes to LOG after the close
  check POOLFILE LOG KIND            count, for the names/keys in LOG, what
        the pool file lost, holds twice or holds torn; KIND cloud-init|lockless
"""
import fcntl
import json
import os
import sys
import time

KEY, VALUE = 512, 2048
REC = KEY + VALUE


def cloud_init(pool, stopfile, log):
    from cloudinit.reporting import events
    from cloudinit.reporting.handlers import HyperVKvpReportingHandler

    handler = HyperVKvpReportingHandler(kvp_file_path=pool)
    n = 0
    with open(log, "a", buffering=1) as out:
        while not os.path.exists(stopfile):
            batch = []
            for _ in range(1 + n % 3):  # batches of 1..3 records per append
                name = "ev-%06d" % n
                n += 1
                handler.publish_event(
                    events.ReportingEvent("start", name, "test event %s" % name)
                )
                batch.append(name)
            handler.flush()
            for name in batch:
                out.write(name + "\n")
            # about 60 records a second: a busy boot, and a pool 1 that
            # stays well below the record cap during the run
            time.sleep(0.03)


def lockless(pool, count, log):
    with open(log, "a", buffering=1) as out:
        for i in range(int(count)):
            key = "lockless-%06d" % i
            value = "value of %s" % key
            rec = key.encode().ljust(KEY, b"\0") + value.encode().ljust(VALUE, b"\0")
            fd = os.open(pool, os.O_RDONLY)
            f = open(pool, "ab", buffering=8192)
            fcntl.lockf(fd, fcntl.LOCK_SH)
            f.write(rec)  # stays in the buffer
            fcntl.lockf(fd, fcntl.LOCK_UN)
            os.close(fd)
            f.close()  # the one write, with no lock held
            out.write(key + "\n")


def records(pool):
    data = open(pool, "rb").read()
    whole = len(data) - len(data) % REC
    for off in range(0, whole, REC):
        k = data[off : off + KEY].split(b"\0", 1)[0]
        v = data[off + KEY : off + REC].split(b"\0", 1)[0]
        yield k.decode("utf-8", "replace"), v.decode("utf-8", "replace")
    if len(data) % REC:
        yield None, "%d bytes of a partial record at the end" % (len(data) % REC)


def check(pool, log, kind):
    written = [line.strip() for line in open(log) if line.strip()]
    seen, torn = {}, 0
    for k, v in records(pool):
        if k is None:
            torn += 1
            continue
        if kind == "cloud-init":
            if not k.startswith("CLOUD_INIT|"):
                continue
            parts = k.split("|")
            name = parts[3] if len(parts) >= 5 else None
            try:
                ok = name is not None and json.loads(v).get("name") == name
            except ValueError:
                ok = False
        else:
            if not k.startswith("lockless-"):
                continue
            name, ok = k, v == "value of %s" % k
        if not ok:
            torn += 1
            continue
        seen[name] = seen.get(name, 0) + 1
    lost = [n for n in written if n not in seen]
    dup = [n for n, c in seen.items() if c > 1]
    print(
        "%s: written %d, in the pool %d, lost %d, duplicated %d, torn %d"
        % (kind, len(written), len(seen), len(lost), len(dup), torn)
    )
    if lost:
        print("lost, first ones: %s" % " ".join(lost[:10]))
    print(json.dumps({"written": len(written), "lost": len(lost), "dup": len(dup), "torn": torn}))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "cloud-init" and len(sys.argv) == 5:
        cloud_init(*sys.argv[2:])
    elif cmd == "lockless" and len(sys.argv) == 5:
        lockless(*sys.argv[2:])
    elif cmd == "check" and len(sys.argv) == 5:
        check(*sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
