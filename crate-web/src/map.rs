//! The containers' map: the host and its interfaces, Docker's networks (bridges and their subnets), the
//! containers on each with their addresses, the ports the host publishes into them; privileged
//! containers and risky mounts marked. Drawn from the rows of `docker networks`, `docker ps`,
//! `docker mounts` and `ifconfig` as shapes, which the page renders as SVG elements and the export writes
//! as an SVG file (no library, nothing fetched). Independent of the DOM, so it is tested on the host.

use std::fmt::Write;

use serde_json::Value;

/// What a shape shows, which sets its colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Interface,
    Network,
    Container,
    /// A privileged container's box.
    Privileged,
    /// A risky mount's line.
    Risk,
    /// A container's link to a network.
    Link,
    /// A published port's line.
    Published,
    Title,
    Text,
}

impl Kind {
    /// (fill, stroke) of a box, or the colour of a line or text.
    fn paint(self) -> (&'static str, &'static str) {
        match self {
            Kind::Host => ("#eef3fb", "#4a6fa5"),
            Kind::Interface => ("#ffffff", "#4a6fa5"),
            Kind::Network => ("#eefaf0", "#3b8a4a"),
            Kind::Container => ("#ffffff", "#555555"),
            Kind::Privileged => ("#fdeaea", "#c62828"),
            Kind::Risk => ("none", "#c62828"),
            Kind::Link => ("none", "#3b8a4a"),
            Kind::Published => ("none", "#4a6fa5"),
            Kind::Title | Kind::Text => ("none", "#1a1a1a"),
        }
    }

    /// The class the page styles it by (`map-container`).
    pub fn class(self) -> &'static str {
        match self {
            Kind::Host => "map-host",
            Kind::Interface => "map-interface",
            Kind::Network => "map-network",
            Kind::Container => "map-container",
            Kind::Privileged => "map-container map-privileged",
            Kind::Risk => "map-risk",
            Kind::Link => "map-link",
            Kind::Published => "map-published",
            Kind::Title => "map-title",
            Kind::Text => "map-text",
        }
    }
}

/// One shape of the map, in SVG user units.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        kind: Kind,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        kind: Kind,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        kind: Kind,
    },
}

impl Shape {
    /// Its presentation attributes (fill, stroke, font), the same in the page and in the exported file.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        match self {
            Shape::Rect { kind, .. } => {
                let (fill, stroke) = kind.paint();
                vec![("fill", fill.into()), ("stroke", stroke.into()), ("rx", "4".into())]
            }
            Shape::Line { kind, .. } => {
                let dash = if *kind == Kind::Published { "4 3" } else { "none" };
                vec![
                    ("stroke", kind.paint().1.into()),
                    ("stroke-width", "1.5".into()),
                    ("stroke-dasharray", dash.into()),
                ]
            }
            Shape::Text { kind, .. } => {
                let weight = if *kind == Kind::Title { "bold" } else { "normal" };
                let colour = match kind {
                    Kind::Risk | Kind::Privileged => "#c62828",
                    _ => "#1a1a1a",
                };
                vec![
                    ("fill", colour.into()),
                    ("font-family", "ui-monospace, monospace".into()),
                    ("font-size", "12".into()),
                    ("font-weight", weight.into()),
                ]
            }
        }
    }
}

/// The map: its size and shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drawing {
    pub width: f64,
    pub height: f64,
    pub shapes: Vec<Shape>,
}

/// The rows the map is drawn from.
pub struct Sources<'a> {
    pub networks: &'a [Value],
    pub containers: &'a [Value],
    pub mounts: &'a [Value],
    pub interfaces: &'a [Value],
}

const COLUMN: f64 = 280.0;
const BOX: f64 = 260.0;
const LINE: f64 = 16.0;
const PAD: f64 = 10.0;

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A labelled box: its title line, then its lines (each with its kind), at (x, y); returns its height.
fn boxed(shapes: &mut Vec<Shape>, x: f64, y: f64, kind: Kind, title: &str, lines: &[(String, Kind)]) -> f64 {
    let h = PAD + LINE * (1 + lines.len()) as f64 + PAD / 2.0;
    shapes.push(Shape::Rect { x, y, w: BOX, h, kind });
    shapes.push(Shape::Text {
        x: x + PAD,
        y: y + PAD + 12.0,
        text: title.to_string(),
        kind: Kind::Title,
    });
    for (n, (line, k)) in lines.iter().enumerate() {
        shapes.push(Shape::Text {
            x: x + PAD,
            y: y + PAD + 12.0 + LINE * (n + 1) as f64,
            text: line.clone(),
            kind: *k,
        });
    }
    h
}

/// Lay the map out: the host on top with its own interfaces and the ports it publishes, a column per
/// network below it, each network's containers under it (a container on several networks under the first,
/// linked to the others), containers on no network in a last column.
pub fn draw(src: &Sources<'_>) -> Drawing {
    let mut shapes = Vec::new();
    let id_of = |v: &Value| text(v, "container_id").unwrap_or_default();
    let name_of = |id: &str| {
        src.containers
            .iter()
            .find(|c| id_of(c) == id)
            .and_then(|c| text(c, "name"))
            .unwrap_or_else(|| id.get(..12).unwrap_or(id).to_string())
    };
    // The host: its interfaces in its own namespace (not loopback, not a container's veth, not a bridge
    // drawn as a network), and what it publishes.
    let bridges: Vec<String> = src.networks.iter().filter_map(|n| text(n, "bridge")).collect();
    let host_ns = src
        .interfaces
        .iter()
        .find(|i| text(i, "name").as_deref() == Some("lo"))
        .and_then(|i| i.get("netns").cloned());
    let mut host_lines: Vec<(String, Kind)> = src
        .interfaces
        .iter()
        .filter(|i| host_ns.is_none() || i.get("netns") == host_ns.as_ref())
        .filter_map(|i| {
            let name = text(i, "name")?;
            if name == "lo" || name.starts_with("veth") || bridges.contains(&name) {
                return None;
            }
            let addrs = list(i, "addresses").join(" ");
            let promisc = if i.get("promiscuous") == Some(&Value::Bool(true)) {
                " PROMISC"
            } else {
                ""
            };
            Some((format!("{name} {addrs}{promisc}"), Kind::Text))
        })
        .collect();
    let mut published = Vec::new();
    for n in src.networks {
        let members = n
            .get("containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for p in n.get("published").and_then(Value::as_array).into_iter().flatten() {
            let (Some(host), Some(inside)) = (text(p, "host"), text(p, "container")) else {
                continue;
            };
            let ip = inside
                .rsplit_once(':')
                .map_or(inside.as_str(), |(ip, _)| ip)
                .trim_matches(['[', ']']);
            let who = members
                .iter()
                .find(|m| text(m, "ip").as_deref() == Some(ip) || text(m, "ipv6").as_deref() == Some(ip))
                .map(|m| name_of(&id_of(m)));
            let proto = text(p, "proto").unwrap_or_default();
            let target = match &who {
                Some(name) => format!("{name} {inside}"),
                None => inside.clone(),
            };
            host_lines.push((format!("{proto} {host} -> {target}"), Kind::Text));
            published.push(who);
        }
    }
    let columns = src.networks.len() + 1;
    let width = PAD * 2.0 + COLUMN * columns as f64;
    let host_h = PAD + LINE * (1 + host_lines.len()) as f64 + PAD / 2.0;
    shapes.push(Shape::Rect {
        x: PAD,
        y: PAD,
        w: width - 2.0 * PAD,
        h: host_h,
        kind: Kind::Host,
    });
    shapes.push(Shape::Text {
        x: 2.0 * PAD,
        y: 2.0 * PAD + 12.0,
        text: "host".into(),
        kind: Kind::Title,
    });
    for (n, (line, kind)) in host_lines.iter().enumerate() {
        shapes.push(Shape::Text {
            x: 2.0 * PAD,
            y: 2.0 * PAD + 12.0 + LINE * (n + 1) as f64,
            text: line.clone(),
            kind: *kind,
        });
    }
    // Networks, then their containers.
    let net_y = PAD + host_h + 30.0;
    // Containers drawn in full: (id, first network, box top); each attachment's link: (x, from y, to y).
    let mut placed: Vec<(String, String, f64)> = Vec::new();
    let mut links: Vec<(f64, f64, f64)> = Vec::new();
    let mut bottom = net_y;
    let risks = |id: &str| -> Vec<(String, Kind)> {
        src.mounts
            .iter()
            .filter(|m| id_of(m) == id)
            .filter_map(|m| {
                let risk = text(m, "risk")?;
                let path = text(m, "container_path").unwrap_or_default();
                Some((format!("! {path}: {risk}"), Kind::Risk))
            })
            .collect()
    };
    let container_box = |shapes: &mut Vec<Shape>, x: f64, y: f64, id: &str, addresses: Vec<String>| {
        let row = src.containers.iter().find(|c| id_of(c) == id);
        let privileged = row.and_then(|c| c.get("privileged")) == Some(&Value::Bool(true));
        let mut lines: Vec<(String, Kind)> = addresses.into_iter().map(|a| (a, Kind::Text)).collect();
        if let Some(pid) = row.and_then(|c| text(c, "pid")) {
            lines.push((format!("pid {pid}"), Kind::Text));
        }
        if let Some(mode) = row
            .and_then(|c| text(c, "network_mode"))
            .filter(|m| m.starts_with("container:"))
        {
            lines.push((
                format!("network of {}", name_of(&mode["container:".len()..])),
                Kind::Text,
            ));
        }
        if privileged {
            lines.push(("PRIVILEGED".into(), Kind::Privileged));
        }
        lines.extend(risks(id));
        let kind = if privileged { Kind::Privileged } else { Kind::Container };
        boxed(shapes, x, y, kind, &name_of(id), &lines)
    };
    for (col, n) in src.networks.iter().enumerate() {
        let x = PAD + COLUMN * col as f64;
        let name = text(n, "network").unwrap_or_default();
        let mut lines = Vec::new();
        let driver = text(n, "driver").unwrap_or_else(|| "unknown driver".into());
        match text(n, "bridge") {
            Some(bridge) => lines.push((format!("{driver} {bridge}"), Kind::Text)),
            None => lines.push((driver, Kind::Text)),
        }
        lines.extend(list(n, "prefixes").into_iter().map(|p| (p, Kind::Text)));
        if let Some(gw) = text(n, "gateway") {
            lines.push((format!("gateway {gw}"), Kind::Text));
        }
        let h = boxed(&mut shapes, x, net_y, Kind::Network, &name, &lines);
        let centre = x + BOX / 2.0;
        shapes.push(Shape::Line {
            x1: centre,
            y1: PAD + host_h,
            x2: centre,
            y2: net_y,
            kind: Kind::Link,
        });
        let mut y = net_y + h + 30.0;
        for m in n.get("containers").and_then(Value::as_array).into_iter().flatten() {
            let id = id_of(m);
            let addresses: Vec<String> = [text(m, "ip"), text(m, "ipv6"), text(m, "mac")]
                .into_iter()
                .flatten()
                .collect();
            links.push((centre, net_y + h, y));
            // A container on several networks: its full box under the first, its addresses on the others.
            let h = match placed.iter().find(|(p, ..)| *p == id) {
                Some((_, first, _)) => {
                    let mut lines: Vec<(String, Kind)> = addresses.into_iter().map(|a| (a, Kind::Text)).collect();
                    lines.push((format!("also on {first}"), Kind::Text));
                    boxed(&mut shapes, x, y, Kind::Container, &name_of(&id), &lines)
                }
                None => {
                    let h = container_box(&mut shapes, x, y, &id, addresses);
                    placed.push((id, name.clone(), y));
                    h
                }
            };
            y += h + 20.0;
        }
        bottom = bottom.max(y);
    }
    // Containers on no network (`none`, or one that died with its network's owner).
    let x = PAD + COLUMN * src.networks.len() as f64;
    let mut y = net_y;
    for c in src.containers {
        let id = id_of(c);
        if placed.iter().any(|(p, ..)| *p == id) {
            continue;
        }
        let h = container_box(&mut shapes, x, y, &id, vec!["no network".into()]);
        placed.push((id, String::new(), y));
        y += h + 20.0;
    }
    bottom = bottom.max(y);
    for (x, from, to) in links {
        shapes.push(Shape::Line {
            x1: x,
            y1: from,
            x2: x,
            y2: to,
            kind: Kind::Link,
        });
    }
    // Each published port: a dashed line from the host down to its container's box.
    for who in published.into_iter().flatten() {
        let Some((_, net, y)) = placed.iter().find(|(id, ..)| name_of(id) == who) else {
            continue;
        };
        let col = src
            .networks
            .iter()
            .position(|n| text(n, "network").as_deref() == Some(net.as_str()))
            .unwrap_or(src.networks.len());
        let x = PAD + COLUMN * col as f64 + BOX / 2.0 + 40.0;
        shapes.push(Shape::Line {
            x1: x,
            y1: PAD + host_h,
            x2: x,
            y2: *y,
            kind: Kind::Published,
        });
    }
    // Lines first, so boxes and text sit on them.
    shapes.sort_by_key(|s| !matches!(s, Shape::Line { .. }));
    Drawing {
        width,
        height: bottom + PAD,
        shapes,
    }
}

/// Text for XML: escaped as the report escapes it, control characters (which XML cannot hold) replaced.
fn escape(s: &str) -> String {
    let printable: String = s.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    crate::report::escape(&printable)
}

/// The map as a standalone SVG file.
pub fn to_svg(d: &Drawing) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n",
        w = d.width,
        h = d.height
    );
    for s in &d.shapes {
        let attrs: String = s
            .attributes()
            .iter()
            .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
            .collect();
        let _ = match s {
            Shape::Rect { x, y, w, h, kind } => writeln!(
                out,
                "<rect class=\"{}\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"{attrs}/>",
                kind.class()
            ),
            Shape::Line { x1, y1, x2, y2, kind } => writeln!(
                out,
                "<line class=\"{}\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\"{attrs}/>",
                kind.class()
            ),
            Shape::Text { x, y, text, kind } => writeln!(
                out,
                "<text class=\"{}\" x=\"{x}\" y=\"{y}\"{attrs}>{}</text>",
                kind.class(),
                escape(text)
            ),
        };
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(d: &Drawing) -> Vec<&str> {
        d.shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_map_shows_networks_containers_ports_and_risks() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let networks = [
            json!({"network": "bridge", "driver": "bridge", "prefixes": ["172.17.0.0/16"],
            "bridge": "docker0", "gateway": "172.17.0.1",
            "containers": [{"container_id": a, "name": "web", "ip": "172.17.0.2", "ipv6": null, "mac": "02:42:ac:11:00:02"}],
            "published": [{"proto": "tcp", "host": "0.0.0.0:8080", "container": "172.17.0.2:80", "pid": 860, "listening": true}]}),
            json!({"network": "backnet", "driver": "bridge", "prefixes": ["172.20.0.0/16"], "bridge": "br-1",
            "containers": [{"container_id": a, "name": "web", "ip": "172.20.0.10"}], "published": []}),
        ];
        let containers = [
            json!({"container_id": a, "name": "web", "pid": 905, "privileged": false, "network_mode": "default"}),
            json!({"container_id": b, "name": "<priv>", "pid": 982, "privileged": true, "network_mode": "none"}),
        ];
        let mounts = [json!({"container_id": b, "container_path": "/var/run/docker.sock", "risk": "docker.sock"})];
        let interfaces = [
            json!({"netns": 1, "name": "lo", "addresses": ["127.0.0.1/8"]}),
            json!({"netns": 1, "name": "eth0", "addresses": ["10.0.2.15/24"], "promiscuous": true}),
            json!({"netns": 1, "name": "docker0", "addresses": ["172.17.0.1/16"]}),
            json!({"netns": 1, "name": "veth1", "addresses": []}),
            json!({"netns": 2, "name": "eth0", "addresses": ["172.17.0.2/16"]}),
        ];
        let d = draw(&Sources {
            networks: &networks,
            containers: &containers,
            mounts: &mounts,
            interfaces: &interfaces,
        });
        let t = texts(&d);
        for want in [
            "host",
            "eth0 10.0.2.15/24 PROMISC",
            "tcp 0.0.0.0:8080 -> web 172.17.0.2:80",
            "bridge",
            "bridge docker0",
            "172.17.0.0/16",
            "gateway 172.17.0.1",
            "web",
            "172.17.0.2",
            "<priv>",
            "no network",
            "PRIVILEGED",
            "! /var/run/docker.sock: docker.sock",
            "172.20.0.10",
            "also on bridge",
        ] {
            assert!(t.contains(&want), "{want:?} not in {t:?}");
        }
        assert_eq!(
            t.iter().filter(|l| l.starts_with("eth0")).count(),
            1,
            "a container's eth0 is not the host's"
        );
        assert!(d.shapes.iter().any(|s| matches!(
            s,
            Shape::Rect {
                kind: Kind::Privileged,
                ..
            }
        )));
        assert!(d.shapes.iter().any(|s| matches!(
            s,
            Shape::Line {
                kind: Kind::Published,
                ..
            }
        )));
        let svg = to_svg(&d);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(">&lt;priv&gt;</text>"), "text is escaped");
        assert!(!svg.contains("<priv>"));
    }

    #[test]
    fn no_docker_draws_the_host_alone() {
        let d = draw(&Sources {
            networks: &[],
            containers: &[],
            mounts: &[],
            interfaces: &[],
        });
        assert_eq!(texts(&d), ["host"]);
    }
}
