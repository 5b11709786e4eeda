//! Values decoded for people, beside the raw value the rows hold (the exports keep the rows as the CLI
//! prints them): capability sets in hex with how many they hold (`all` for every capability there is), a
//! log level by name, a packet socket's protocol as the ethertype it names. Independent of the DOM, so it
//! is tested on the host.

use memscope_core::analyses::pslist::CAP_NAMES;
use serde_json::Value;

/// `printk` levels, `KERN_EMERG` (0) to `KERN_DEBUG` (7).
const LEVELS: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/// Ethertypes a packet socket is commonly bound to (`linux/if_ether.h`), by number.
const ETHERTYPES: [(u64, &str); 10] = [
    (0x0003, "ETH_P_ALL: every protocol"),
    (0x0800, "IPv4"),
    (0x0806, "ARP"),
    (0x8035, "RARP"),
    (0x8100, "802.1Q VLAN"),
    (0x86dd, "IPv6"),
    (0x888e, "802.1X EAPOL"),
    (0x88a8, "802.1ad"),
    (0x88cc, "LLDP"),
    (0x88f7, "PTP"),
];

/// The text a cell of `key` with `value` shows in a row of `analysis`: the value and, where it means
/// something a person would otherwise look up, what (`5 (notice)`); the value as it is otherwise.
pub fn shown(analysis: &str, row: &Value, key: &str, value: &str) -> String {
    match decoded(analysis, row, key, value) {
        Some(meaning) => format!("{value} ({meaning})"),
        None => value.to_string(),
    }
}

fn decoded(analysis: &str, row: &Value, key: &str, value: &str) -> Option<String> {
    let number = || value.parse::<u64>().ok();
    match key {
        "cap_inh" | "cap_prm" | "cap_eff" | "cap_bnd" | "cap_amb" => number().map(capabilities),
        "level" if analysis == "dmesg" => LEVELS.get(number()? as usize).map(|l| l.to_string()),
        "protocol" if row.get("proto").and_then(Value::as_str) == Some("packet") => {
            let n = number()?;
            let name = ETHERTYPES.iter().find(|(t, _)| *t == n).map_or("", |(_, name)| name);
            Some(if name.is_empty() {
                format!("{n:#06x}")
            } else {
                format!("{n:#06x} {name}")
            })
        }
        _ => None,
    }
}

/// A capability set in hex with how many it holds: `all` when it holds every capability memscope knows
/// (`CAP_CHOWN` to `CAP_CHECKPOINT_RESTORE`), `none` when empty.
fn capabilities(set: u64) -> String {
    let every = (1u64 << CAP_NAMES.len()) - 1;
    match set {
        0 => "none".to_string(),
        s if s & every == every => format!("{s:#x}, all"),
        s => format!("{s:#x}, {} of {}", s.count_ones(), CAP_NAMES.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capability_sets_show_in_hex_with_their_count() {
        let row = json!({});
        assert_eq!(
            shown("pslist", &row, "cap_eff", "274877906943"),
            "274877906943 (0x3fffffffff, 38 of 41)"
        );
        assert_eq!(
            shown("pslist", &row, "cap_bnd", "2199023255551"),
            "2199023255551 (0x1ffffffffff, all)"
        );
        assert_eq!(shown("pslist", &row, "cap_amb", "0"), "0 (none)");
        assert_eq!(shown("pslist", &row, "cap_eff", ""), "");
    }

    #[test]
    fn log_levels_and_packet_protocols_are_named() {
        assert_eq!(shown("dmesg", &json!({}), "level", "5"), "5 (notice)");
        assert_eq!(shown("dmesg", &json!({}), "level", "9"), "9");
        assert_eq!(shown("lsmod", &json!({}), "level", "5"), "5");
        let packet = json!({"proto": "packet"});
        assert_eq!(
            shown("netstat", &packet, "protocol", "3"),
            "3 (0x0003 ETH_P_ALL: every protocol)"
        );
        assert_eq!(shown("netstat", &packet, "protocol", "35020"), "35020 (0x88cc LLDP)");
        assert_eq!(shown("netstat", &packet, "protocol", "4660"), "4660 (0x1234)");
        assert_eq!(shown("netstat", &json!({"proto": "tcp"}), "protocol", "6"), "6");
    }
}
