#!/usr/bin/env python3
"""Synthesise a Maildir of N distinct messages from real corpora.

Each output message is a corpus message with its Date rewritten (dates spread
evenly over ten years, whatever N) and its Message-ID, In-Reply-To and References
rewritten per copy of the corpus (`<c7.original-id>`), so every message is
distinct for de-duplication and each copy of the corpus threads like the corpus
itself: a reply joins its own copy's thread, not every copy's. Copies after the
first carry ` [c]` at the end of their subject, so that subject threading does not
chain the copies of a reply together either (they are weeks apart at 10^6). One
message in 50 is flagged and two in three are read (Maildir flags F and S).

usage: synth.py OUT_MAILDIR N SOURCE_DIR [SOURCE_DIR ...]
       synth.py --mbox OUT_FILE N SOURCE_DIR [SOURCE_DIR ...]   (one mboxrd file)
"""
import os
import re
import sys
import time
from email.utils import formatdate

HEADER_END = re.compile(rb"\r?\n\r?\n")
IDS = re.compile(rb"<([^<>\s]+)>")
TEN_YEARS = int(10 * 365.25 * 86400)


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


def fields(head):
    """The header's fields, each as its list of lines (continuations included)."""
    out = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and out:
            out[-1].append(line)
        else:
            out.append([line])
    return out


def rewrite(raw, i, copy, date, seen):
    m = HEADER_END.search(raw)
    head, body = (raw[: m.start()], raw[m.start():]) if m else (raw, b"\n\n")
    nl = b"\r\n" if b"\r\n" in head else b"\n"
    kept, own = [], None
    for field in fields(head):
        name = field[0].split(b":", 1)[0].strip()
        lower = name.lower()
        if lower == b"date":
            continue
        if lower in (b"message-id", b"in-reply-to", b"references"):
            ids = IDS.findall(b"".join(field))
            if lower == b"message-id":
                own = ids[0] if ids else None
            elif ids:
                kept.append(name + b": " + (nl + b" ").join(b"<c%d.%s>" % (copy, x) for x in ids) + nl)
            continue
        if lower == b"subject" and copy:
            field = field[:-1] + [field[-1].rstrip(b"\r\n") + b" [%d]" % copy + nl]
        kept.extend(field)
    if own is None or own in seen:
        mid = b"<synth-%d@bench.homepost.invalid>" % i
    else:
        seen.add(own)
        mid = b"<c%d.%s>" % (copy, own)
    new = b"Message-ID: " + mid + nl + b"Date: " + formatdate(date, usegmt=True).encode() + nl
    return new + b"".join(kept) + body


FROM_LINE = re.compile(rb"^(>*From )", re.M)


def main():
    args = sys.argv[1:]
    mbox = args[:1] == ["--mbox"]
    if mbox:
        args = args[1:]
    out, n, dirs = args[0], int(args[1]), args[2:]
    if mbox:
        sink = open(out, "wb")
    else:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
    corpus = sources(dirs)
    if not corpus:
        sys.exit("synth.py: no messages found in " + " ".join(dirs))
    base = 1420070400  # 2015-01-01
    step = max(1, TEN_YEARS // max(n, 1))
    seen = set()
    for i in range(n):
        copy, k = divmod(i, len(corpus))
        if k == 0:
            seen = set()
        date = base + i * step
        raw = rewrite(corpus[k], i, copy, date, seen)
        if mbox:
            # mboxrd: a From_ line, body lines starting with (>*)From quoted.
            body = FROM_LINE.sub(rb">\1", raw.replace(b"\r\n", b"\n"))
            sink.write(b"From bench@homepost.invalid " + time.asctime(time.gmtime(date)).encode() + b"\n")
            sink.write(body if body.endswith(b"\n") else body + b"\n")
            sink.write(b"\n")
            continue
        flags = ("F" if i % 50 == 7 else "") + ("S" if i % 3 else "")
        # Sizes in the name, as Dovecot names what it delivers (S= on disk,
        # W= with CRLF line ends): without them its first RFC822.SIZE listing
        # reads every file (1.1 s for 10,000 cold), a cost of this synthesis.
        wire = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
        name = "%d.%d.bench,S=%d,W=%d:2,%s" % (base + i, i, len(raw), wire, flags)
        with open(os.path.join(out, "cur", name), "wb") as fh:
            fh.write(raw)
    if mbox:
        sink.close()
    print("synth.py: wrote %d messages from %d sources to %s" % (n, len(corpus), out))


if __name__ == "__main__":
    main()
