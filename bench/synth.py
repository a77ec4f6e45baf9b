#!/usr/bin/env python3
"""Synthesise a Maildir of N distinct messages from real corpora.

Each output message is a corpus message whose Message-ID and Date headers are
rewritten (a unique id, dates spread over ten years), so every message is distinct
for de-duplication and threading while the content stays real mail.

usage: synth.py OUT_MAILDIR N SOURCE_DIR [SOURCE_DIR ...]
"""
import os
import re
import sys
from email.utils import formatdate

HEADER_END = re.compile(rb"\r?\n\r?\n")
DROP = re.compile(rb"^(message-id|date):", re.I)


def sources(dirs):
    out = []
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            subdirs.sort()
            for f in sorted(files):
                if f.endswith((".json", ".asc", ".gpg", ".key", ".txt", ".label", ".vcf")):
                    continue
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    data = fh.read()
                if data.startswith(b"From ") or len(data) < 64 or b":" not in data[:200]:
                    continue  # mbox files and non-mail
                out.append(data)
    return out


def rewrite(raw, i, base):
    m = HEADER_END.search(raw)
    head, body = (raw[: m.start()], raw[m.start():]) if m else (raw, b"\n\n")
    kept, skipping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(DROP.match(line))
        if not skipping:
            kept.append(line)
    nl = b"\r\n" if b"\r\n" in head else b"\n"
    new = (
        b"Message-ID: <synth-%d@bench.homepost.invalid>" % i + nl
        + b"Date: " + formatdate(base + i * 3153, usegmt=True).encode() + nl
    )
    return new + b"".join(kept) + body


def main():
    out, n, dirs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    corpus = sources(dirs)
    if not corpus:
        sys.exit("synth.py: no messages found in " + " ".join(dirs))
    base = 1420070400  # 2015-01-01
    for i in range(n):
        raw = rewrite(corpus[i % len(corpus)], i, base)
        name = "%d.%d.bench:2,%s" % (base + i, i, "S" if i % 3 else "")
        with open(os.path.join(out, "cur", name), "wb") as fh:
            fh.write(raw)
    print("synth.py: wrote %d messages from %d sources to %s" % (n, len(corpus), out))


if __name__ == "__main__":
    main()
