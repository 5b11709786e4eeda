//! Packet captures the analyses write (`--pcap`), read back by Debian's tshark as a user would open them.

use std::path::Path;

/// One line per packet of the pcapng file at `path`, as tshark prints these fields tab-separated: the TCP
/// source and destination ports, the UDP source and destination ports, then the payload in hex
/// (`data.data`, `tcp.payload`). tshark must read the file without error; `what` names it in failures.
pub fn tshark_fields(what: &str, path: &Path) -> Vec<String> {
    let fields = [
        "tcp.srcport",
        "tcp.dstport",
        "udp.srcport",
        "udp.dstport",
        "data.data",
        "tcp.payload",
    ];
    tshark_lines(what, path, &fields)
}

/// One line per packet of the pcapng file at `path`: `fields` as tshark prints them, tab-separated.
/// tshark must read the file without error; `what` names it in failures.
pub fn tshark_lines(what: &str, path: &Path, fields: &[&str]) -> Vec<String> {
    let mut command = std::process::Command::new("tshark");
    command.args(["-r", &path.to_string_lossy(), "-T", "fields"]);
    for f in fields {
        command.args(["-e", f]);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("tshark cannot run ({e}): scripts/setup.sh installs it (apt-get install tshark)"));
    assert!(
        out.status.success(),
        "{what}: tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `text`'s bytes in lowercase hex, as tshark prints a payload.
pub fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
