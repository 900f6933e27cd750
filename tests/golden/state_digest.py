#!/usr/bin/env python3
"""Prints a state file's contents less what changes from run to run (the elapsed seconds, the
history's seconds column, and data_crc32, the checksum of a data section that holds that
column): its metadata, then per tensor its dtype, shape and SHA-256.
Usage: state_digest.py FILE.ckpt"""
import hashlib
import json
import struct
import sys

TIMED = {"elapsed_seconds", "history/seconds", "data_crc32"}

with open(sys.argv[1], "rb") as f:
    blob = f.read()
(header_length,) = struct.unpack_from("<Q", blob, 0)
header = json.loads(blob[8:8 + header_length])
data = blob[8 + header_length:]
meta = {k: v for k, v in header.pop("__metadata__", {}).items() if k not in TIMED}
print(json.dumps(meta, sort_keys=True))
for name in sorted(header):
    if name in TIMED:
        continue
    t = header[name]
    begin, end = t["data_offsets"]
    print(name, t["dtype"], t["shape"], hashlib.sha256(data[begin:end]).hexdigest())
