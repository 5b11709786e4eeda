#!/usr/bin/env python3
"""Extract the vmlinux ELF image from a compressed kernel (bzImage), as the kernel's extract-vmlinux does.

    vmlinux.py VMLINUZ OUT

Tries every xz, gzip and zstd stream start in the file and keeps the first that decompresses to an ELF image.
"""
import gzip, lzma, subprocess, sys

MAGICS = [(b"\xfd7zXZ\x00", "xz"), (b"\x1f\x8b\x08", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd")]


def decompress(kind, data):
    if kind == "xz":
        return lzma.LZMADecompressor().decompress(data)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=__import__("io").BytesIO(data)).read()
    r = subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True)
    return r.stdout


def main(src, dst):
    blob = open(src, "rb").read()
    for magic, kind in MAGICS:
        at = blob.find(magic)
        while at >= 0:
            try:
                out = decompress(kind, blob[at:])
            except Exception:
                out = b""
            if out[:4] == b"\x7fELF":
                open(dst, "wb").write(out)
                print("%s: %s stream at %#x -> %d bytes" % (src, kind, at, len(out)))
                return
            at = blob.find(magic, at + 1)
    sys.exit("%s: no compressed ELF image found" % src)


if __name__ == "__main__":
    main(*sys.argv[1:3])
