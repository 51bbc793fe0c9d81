//! Where a grok expression's captures go in a document, in the order logpipe's
//! capture plan (logpipe/filters/grok/capture.py) puts them there.
//!
//! The plan stores the captures that matched something in their order, making
//! the objects of a nested field (`[http][response][status_code]`) as it goes.
//! So an object appears where its first non-empty capture is, and a document
//! for the route is written that way: each object's members ordered by their
//! first non-empty capture, objects with none left out.

use pcre2::bytes::CaptureLocations;

use crate::json;

/// One capture: its group number and whether it is stored as an integer (`:int`).
struct Capture {
    group: usize,
    int: bool,
}

/// A field of the document: a capture's value, or an object of other fields.
struct Node {
    /// `"name":`
    key: Vec<u8>,
    children: Vec<usize>,
    capture: Option<usize>,
}

pub struct Layout {
    captures: Vec<Capture>,
    /// `,"name":` per capture when every capture is a top-level text field.
    flat: Option<Vec<Vec<u8>>>,
    nodes: Vec<Node>,
    roots: Vec<usize>,
    /// Node numbers, every node after its children.
    post: Vec<usize>,
}

fn key(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    json::write_str(&mut out, name);
    out.push(b':');
    out
}

/// Ruby's `to_i` as logpipe applies it, for the texts where it is plain: an
/// optional minus and up to 18 digits. false for anything else (the caller then
/// leaves the block to the event path, which handles every text).
fn write_int(out: &mut Vec<u8>, text: &str) -> bool {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        out.push(b'0');
        return true;
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(significant.as_bytes());
    true
}

impl Layout {
    /// `fields`: (group number, field path, stored as an integer), in the plan's
    /// order. No path may be another's prefix, nor repeat one.
    pub fn new(fields: Vec<(usize, Vec<String>, bool)>) -> Result<Layout, String> {
        let flat = fields.iter().all(|(_, path, int)| path.len() == 1 && !int);
        let mut layout = Layout {
            captures: Vec::with_capacity(fields.len()),
            flat: None,
            nodes: Vec::new(),
            roots: Vec::new(),
            post: Vec::new(),
        };
        if flat {
            layout.flat = Some(fields.iter().map(|(_, path, _)| [b",".as_slice(), &key(&path[0])].concat()).collect());
        }
        for (index, (group, path, int)) in fields.into_iter().enumerate() {
            if path.is_empty() {
                return Err("a capture without a field".into());
            }
            layout.captures.push(Capture { group, int });
            let mut siblings: Option<usize> = None; // None: the roots
            for (depth, name) in path.iter().enumerate() {
                let last = depth + 1 == path.len();
                let list = match siblings {
                    None => &layout.roots,
                    Some(parent) => &layout.nodes[parent].children,
                };
                let wanted = key(name);
                let found = list.iter().copied().find(|&n| layout.nodes[n].key == wanted);
                let node = match found {
                    Some(n) if last || layout.nodes[n].capture.is_some() => {
                        return Err(format!("field {path:?} overlaps another capture's field"));
                    }
                    Some(n) => n,
                    None => {
                        layout.nodes.push(Node { key: wanted, children: Vec::new(), capture: None });
                        let n = layout.nodes.len() - 1;
                        match siblings {
                            None => layout.roots.push(n),
                            Some(parent) => layout.nodes[parent].children.push(n),
                        }
                        n
                    }
                };
                if last {
                    layout.nodes[node].capture = Some(index);
                }
                siblings = Some(node);
            }
        }
        fn visit(nodes: &[Node], n: usize, post: &mut Vec<usize>) {
            for &child in &nodes[n].children {
                visit(nodes, child, post);
            }
            post.push(n);
        }
        for &root in &layout.roots {
            visit(&layout.nodes, root, &mut layout.post);
        }
        Ok(layout)
    }

    pub fn max_group(&self) -> usize {
        self.captures.iter().map(|c| c.group).max().unwrap_or(0)
    }

    /// Writes `,"field":value` for each top-level field the line's captures make;
    /// false when a value cannot be written here (see `write_int`).
    pub fn write(&self, out: &mut Vec<u8>, line: &str, loc: &CaptureLocations, first: &mut Vec<usize>) -> bool {
        let span = |capture: &Capture| match loc.get(capture.group) {
            Some((start, end)) if start < end => Some(&line[start..end]),
            _ => None,
        };
        if let Some(keys) = &self.flat {
            for (capture, key) in self.captures.iter().zip(keys) {
                if let Some(text) = span(capture) {
                    out.extend_from_slice(key);
                    json::write_str(out, text);
                }
            }
            return true;
        }
        first.clear();
        first.resize(self.nodes.len(), usize::MAX);
        for &n in &self.post {
            let node = &self.nodes[n];
            first[n] = match node.capture {
                Some(index) => {
                    if span(&self.captures[index]).is_some() { index } else { usize::MAX }
                }
                None => node.children.iter().map(|&c| first[c]).min().unwrap_or(usize::MAX),
            };
        }
        for n in self.ordered(&self.roots, first) {
            out.push(b',');
            if !self.write_node(out, n, line, &span, first) {
                return false;
            }
        }
        true
    }

    fn ordered(&self, nodes: &[usize], first: &[usize]) -> Vec<usize> {
        let mut present: Vec<usize> = nodes.iter().copied().filter(|&n| first[n] != usize::MAX).collect();
        present.sort_by_key(|&n| first[n]);
        present
    }

    fn write_node<'a>(&self, out: &mut Vec<u8>, n: usize, line: &'a str,
                      span: &dyn Fn(&Capture) -> Option<&'a str>, first: &[usize]) -> bool {
        let node = &self.nodes[n];
        out.extend_from_slice(&node.key);
        if let Some(index) = node.capture {
            let capture = &self.captures[index];
            let text = span(capture).unwrap_or_default();
            if capture.int {
                return write_int(out, text);
            }
            json::write_str(out, text);
            return true;
        }
        out.push(b'{');
        for (i, child) in self.ordered(&node.children, first).into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if !self.write_node(out, child, line, span, first) {
                return false;
            }
        }
        out.push(b'}');
        true
    }
}
