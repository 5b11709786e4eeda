//! The CLI's three renderings of one set of rows, read back independently of the product's export code:
//! JSON rows flattened as the conventions say (nested keys joined with dots, lists joined with a space,
//! null an empty cell), CSV parsed as RFC 4180, and the table split at its header's column starts. Tests
//! compare the CSV and the table with the JSON, cell by cell.

use serde_json::Value;

/// One JSON row flattened to (column, cell) pairs, in the row's key order.
pub fn flatten(row: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) if !prefix.is_empty() || !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(v, &key, out);
                }
            }
            other => out.push((prefix.to_string(), text(other))),
        }
    }
    let mut out = Vec::new();
    walk(row, "", &mut out);
    out
}

/// The cell text of a JSON value: strings as they are, null empty, lists joined with a space, objects (in a
/// list) as compact JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        Value::Object(_) => v.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// The columns of a set of rows in the order they first appear, and each row's cells by column (a row
/// without a column has an empty cell).
pub fn columns_and_cells(rows: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let flat: Vec<Vec<(String, String)>> = rows.iter().map(flatten).collect();
    let mut header: Vec<String> = Vec::new();
    for (k, _) in flat.iter().flatten() {
        if !header.contains(k) {
            header.push(k.clone());
        }
    }
    let cells = flat
        .iter()
        .map(|row| {
            header
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    (header, cells)
}

/// Parse CSV text (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks; every line ends
/// with `\n`). Errors name the first problem.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_cell_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), Some(',') | Some('\n')) {
                        return Err(format!("text after a closing quote in line {}", lines.len() + 1));
                    }
                }
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if at_cell_start => {
                quoted = true;
                at_cell_start = false;
            }
            '"' => return Err(format!("a quote inside an unquoted cell in line {}", lines.len() + 1)),
            ',' => {
                line.push(std::mem::take(&mut cell));
                at_cell_start = true;
            }
            '\n' => {
                line.push(std::mem::take(&mut cell));
                lines.push(std::mem::take(&mut line));
                at_cell_start = true;
            }
            c => {
                cell.push(c);
                at_cell_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted cell is not closed".into());
    }
    if !cell.is_empty() || !line.is_empty() {
        return Err("the last line does not end with a line break".into());
    }
    Ok(lines)
}

/// Parse an aligned table: the header's words are the columns, each starting where its name starts; a
/// row's cell runs from its column's start to the next column's start, trailing blanks removed. Positions
/// count characters. Errors name the first line that does not fit.
pub fn parse_table(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut lines = text.lines();
    let header_line = lines.next().ok_or("an empty table")?;
    let chars: Vec<char> = header_line.chars().collect();
    let mut starts = Vec::new();
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != ' ' && (i == 0 || chars[i - 1] == ' ') {
            starts.push(i);
            let end = (i..chars.len()).find(|&j| chars[j] == ' ').unwrap_or(chars.len());
            names.push(chars[i..end].iter().collect::<String>());
            i = end;
        } else {
            i += 1;
        }
    }
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut cells = Vec::new();
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(usize::MAX).min(chars.len());
            if k > 0 && start <= chars.len() && start > 0 && chars.get(start - 1).is_some_and(|c| *c != ' ') {
                return Err(format!("row {} runs into column {}: {line:?}", n + 1, names[k]));
            }
            let cell: String = chars
                .get(start.min(chars.len())..end.max(start.min(chars.len())))
                .unwrap_or_default()
                .iter()
                .collect();
            cells.push(cell.trim_end().to_string());
        }
        rows.push(cells);
    }
    Ok((names, rows))
}
