#!/bin/sh
# Boot each kernel below in QEMU, dump it, and score memscope on it with truthcheck's checks and the harness's
# own (scripts/xkernel/README.md). Usage: scripts/xkernel/run.sh [ROOT]   (default target/xkernel)
set -e
cd "$(dirname "$0")/../.."
ROOT=${1:-target/xkernel}
run() { python3 scripts/xkernel/xkernel.py --root "$ROOT" "$@"; }
run --name deb11-5.10 --suite bullseye --package 'linux-image-5\.10\.0-[0-9]+-amd64'
run --name deb11-5.10-rt --suite bullseye --package 'linux-image-5\.10\.0-[0-9]+-rt-amd64'
run --name trixie-6.12-la57 --cpu max --suite trixie --package 'linux-image-6\.12\.[0-9]+\+deb13-amd64-unsigned'
run --name sid-7 --suite sid --package 'linux-image-7\.[0-9.]+\+deb14-amd64'
run --name sid-7-la57 --cpu max --suite sid --package 'linux-image-7\.[0-9.]+\+deb14-amd64'
run --name sid-7-rt-la57 --cpu max --suite sid --package 'linux-image-7\.[0-9.]+\+deb14-rt-amd64'
run --name experimental-7 --suite experimental --package 'linux-image-7\.[0-9]+-amd64'
# the one dump with a VMCOREINFO note: identification's hints and kallsyms through SYMBOL(kallsyms_*)
run --name sid-7-vmcoreinfo --vmcoreinfo --suite sid --package 'linux-image-7\.[0-9.]+\+deb14-amd64'
cargo build --release -q -p memscope-cli
python3 scripts/xkernel/check.py "$ROOT"
