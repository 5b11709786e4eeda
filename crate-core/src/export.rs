//! Row export shared by every front end, so that the CLI's CSV and the web app's CSV are the same bytes.
//!
//! Nested objects flatten to dotted column names (`ns.net`), lists join their items with a space, null
//! is an empty cell. Columns appear in the order the rows first name them. Lines end with `\n`; a cell
//! holding a comma, quote or line break is quoted, quotes doubled (RFC 4180).

use serde::Serialize;
use serde_json::Value;

/// Flatten one row into (column, cell text) pairs.
pub fn flatten(row: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    flatten_into(row, String::new(), &mut out);
    out
}

fn flatten_into(v: &Value, prefix: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(v, key, out);
            }
        }
        other => out.push((prefix, cell(other))),
    }
}

/// The text of one cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(" "),
        Value::Object(_) => v.to_string(),
        other => other.to_string(),
    }
}

/// Flattened rows as a header and cells, columns in first-appearance order.
pub fn table(rows: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let flat: Vec<Vec<(String, String)>> = rows.iter().map(flatten).collect();
    let mut header: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (k, _) in flat.iter().flatten() {
        if !index.contains_key(k) {
            index.insert(k.clone(), header.len());
            header.push(k.clone());
        }
    }
    let cells = flat
        .into_iter()
        .map(|row| {
            let mut line = vec![String::new(); header.len()];
            for (k, v) in row {
                if let Some(&i) = index.get(&k) {
                    line[i] = v;
                }
            }
            line
        })
        .collect();
    (header, cells)
}

/// Serialize rows to JSON values.
pub fn to_values<T: Serialize>(rows: &[T]) -> Result<Vec<Value>, serde_json::Error> {
    rows.iter().map(serde_json::to_value).collect()
}

/// Rows as CSV text.
pub fn csv(rows: &[Value]) -> String {
    let (header, cells) = table(rows);
    let mut out = String::new();
    for line in std::iter::once(&header).chain(cells.iter()) {
        let quoted: Vec<String> = line.iter().map(|c| quote(c)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_flattens_and_quotes() {
        let rows = vec![
            json!({"pid": 1, "comm": "a,b", "ns": {"net": 5, "pid": 6}, "caps": ["X", "Y"], "x": null}),
            json!({"pid": 2, "comm": "say \"hi\"", "ns": {"net": 7, "pid": 8}, "caps": [], "extra": true}),
        ];
        assert_eq!(
            csv(&rows),
            "pid,comm,ns.net,ns.pid,caps,x,extra\n1,\"a,b\",5,6,X Y,,\n2,\"say \"\"hi\"\"\",7,8,,,true\n"
        );
    }
}
