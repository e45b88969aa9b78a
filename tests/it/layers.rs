//! The module layering rules of DESIGN.md section 2, checked on the source: every `crate::…`
//! and `super::…` path (and a `mod.rs`'s paths into its own submodules) is an edge from the
//! module that writes it to the module it names. Nodes are the top-level modules, and the
//! submodules of `verify` and `pki`; re-exports (`pub use model::Fault` in `pki/mod.rs`) are
//! followed to the submodule that defines the item. Comment lines do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules whose submodules are nodes of their own.
const SPLIT: &[&str] = &["verify", "pki"];

/// Import cycles that are known and accepted for now: none. A cycle found must lie inside one
/// of these sets; a set that no cycle meets any more is stale and fails the test (delete it).
const KNOWN_CYCLES: &[&[&str]] = &[];

/// Rule breaks outside the verify wing that the target layout removes, as (from, to) nodes.
const KNOWN_RULE_BREAKS: &[(&str, &str)] = &[];

/// One `crate::` path as written, with where it was written.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/verify/probe/session.rs` -> `["verify", "probe", "session"]`; `mod.rs` is its folder;
/// `lib.rs` is the crate root (`[]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The node of a module path: `verify::probe` for `verify/probe/session.rs`, `serve` for
/// `serve.rs`, `cli` for everything under `cli/`.
fn node(path: &[String], submodules: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    let top = path.first()?;
    if SPLIT.contains(&top.as_str())
        && let Some(sub) = path.get(1)
        && submodules.get(top).is_some_and(|s| s.contains(sub))
    {
        return Some(format!("{top}::{sub}"));
    }
    Some(top.clone())
}

fn ident_at(chars: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Parses a path or use-tree starting at `i` (after `crate::`): `a::b::C`, `a::{b, c::D}`,
/// `{a, b}`. Returns every path (its first segments are what matter) and where it ends.
fn use_tree(chars: &[char], i: usize) -> (Vec<Vec<String>>, usize) {
    let i = skip_ws(chars, i);
    if chars.get(i) == Some(&'{') {
        let mut out = Vec::new();
        let mut j = i + 1;
        loop {
            j = skip_ws(chars, j);
            match chars.get(j) {
                None => return (out, j),
                Some('}') => return (out, j + 1),
                Some(',') => j += 1,
                _ => {
                    let (paths, end) = use_tree(chars, j);
                    out.extend(paths);
                    j = if end == j { j + 1 } else { end };
                }
            }
        }
    }
    let (first, end) = ident_at(chars, i);
    if first.is_empty() {
        return (vec![], i);
    }
    if chars.get(end) == Some(&':') && chars.get(end + 1) == Some(&':') {
        let (rest, end) = use_tree(chars, end + 2);
        if rest.is_empty() {
            return (vec![vec![first]], end);
        }
        let paths = rest
            .into_iter()
            .map(|mut p| {
                p.insert(0, first.clone());
                p
            })
            .collect();
        return (paths, end);
    }
    (vec![vec![first]], end)
}

/// The source without comment lines and without `#[cfg(test)]` modules (a unit test may use
/// any layer; the library's layering is what counts), and for each char its line number.
fn code_of(text: &str) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for c in line.chars().chain(std::iter::once('\n')) {
            chars.push(c);
            lines.push(n + 1);
        }
    }
    let mut i = 0;
    while let Some(at) = find(&chars, i, "#[cfg(test)]") {
        let after = skip_ws(&chars, at + "#[cfg(test)]".len());
        if !chars[after..].starts_with(&['m', 'o', 'd', ' ']) {
            i = after;
            continue;
        }
        let Some(open) = chars[after..].iter().position(|c| *c == '{' || *c == ';') else {
            break;
        };
        let open = after + open;
        let end = if chars[open] == '{' {
            block_end(&chars, open)
        } else {
            open + 1
        };
        chars.drain(at..end);
        lines.drain(at..end);
        i = at;
    }
    (chars, lines)
}

fn find(chars: &[char], from: usize, needle: &str) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    (from..chars.len()).find(|&i| chars[i..].starts_with(&needle))
}

/// The index after the `}` that closes the `{` at `open`, skipping strings and chars.
fn block_end(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            'r' if matches!(chars.get(i + 1), Some('#' | '"'))
                && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_')) =>
            {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    let close: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let start = i + 2 + hashes;
                    i = (start..chars.len())
                        .find(|&j| chars[j..].starts_with(&close))
                        .map_or(chars.len(), |j| j + close.len() - 1);
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                i = (i + 2..chars.len())
                    .find(|&j| chars[j] == '\'')
                    .unwrap_or(chars.len());
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// Every absolute module path a file refers to, with its line: `crate::a::b`,
/// `super::x` (resolved), and in a `mod.rs`/`lib.rs`, `use child::…`.
fn references(module: &[String], is_dir_module: bool, text: &str) -> Vec<(Vec<String>, usize)> {
    let (chars, lines) = code_of(text);
    let children: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        if !boundary {
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 8)].iter().collect();
        if rest.starts_with("crate::") {
            let (paths, end) = use_tree(&chars, i + "crate::".len());
            out.extend(paths.into_iter().map(|p| (p, lines[i])));
            i = end.max(i + 1);
        } else if rest.starts_with("super::") {
            // `super` is the parent module (of a `mod.rs` too: it is its folder's module).
            let mut base: Vec<String> = module.to_vec();
            let mut j = i;
            while chars[j..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                base.pop();
                j += "super::".len();
            }
            let (paths, end) = use_tree(&chars, j);
            for p in paths {
                let mut full = base.clone();
                full.extend(p);
                out.push((full, lines[i]));
            }
            i = end.max(i + 1);
        } else if is_dir_module && rest.starts_with("use ") {
            let (paths, end) = use_tree(&chars, i + 4);
            for p in paths {
                if p.first().is_some_and(|c| children.contains(c)) {
                    let mut full = module.to_vec();
                    full.extend(p);
                    out.push((full, lines[i]));
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

struct Graph {
    edges: Vec<Edge>,
}

fn build() -> Graph {
    // CERTLAB_LAYERS_SRC: scan another checkout's `src` (to see the test fail on old code).
    let src = std::env::var_os("CERTLAB_LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: Vec<(PathBuf, Vec<String>, String)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("read source");
            (f.clone(), module_path(&src, f), text)
        })
        .collect();
    let mut submodules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, path, _) in &modules {
        if let [top, sub, ..] = path.as_slice() {
            submodules
                .entry(top.clone())
                .or_default()
                .insert(sub.clone());
        }
    }
    // `pub use child::Item` in a split module's mod.rs: `crate::pki::Item` is the child's.
    let mut reexports: BTreeMap<(String, String), String> = BTreeMap::new();
    for (file, path, text) in &modules {
        let [top] = path.as_slice() else { continue };
        if !SPLIT.contains(&top.as_str()) || !file.ends_with("mod.rs") {
            continue;
        }
        let (chars, _) = code_of(text);
        let code: String = chars.iter().collect();
        for stmt in code.split(';') {
            let Some(tree) = stmt.trim().strip_prefix("pub use ") else {
                continue;
            };
            let tree: Vec<char> = tree.chars().collect();
            for p in use_tree(&tree, 0).0 {
                if let (Some(child), Some(item)) = (p.first(), p.last())
                    && submodules.get(top).is_some_and(|s| s.contains(child))
                {
                    reexports.insert((top.clone(), item.clone()), child.clone());
                }
            }
        }
    }
    let mut edges = Vec::new();
    for (file, path, text) in &modules {
        if path.is_empty() || path[0] == "main" {
            continue; // the crate root's surface and the binary's entry point
        }
        let Some(from) = node(path, &submodules) else {
            continue;
        };
        let is_dir_module = file.ends_with("mod.rs");
        for (mut target, line) in references(path, is_dir_module, text) {
            if let [top, item, ..] = target.as_slice()
                && let Some(child) = reexports.get(&(top.clone(), item.clone()))
            {
                target[1] = child.clone();
            }
            let Some(to) = node(&target, &submodules) else {
                continue;
            };
            let known_top = modules.iter().any(|(_, p, _)| p.first() == target.first());
            if to == from || !known_top {
                continue;
            }
            let rel = file.strip_prefix(&src).unwrap_or(file);
            edges.push(Edge {
                from: from.clone(),
                to,
                at: format!("src/{}:{line}", rel.display()),
            });
        }
    }
    Graph { edges }
}

fn top(node: &str) -> &str {
    node.split("::").next().unwrap_or(node)
}

/// The strongly connected components with more than one node (Tarjan), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(next) = s.edges.get(v) {
            for w in next {
                if !s.index.contains_key(w.as_str()) {
                    visit(s, w);
                    let lw = s.low[w.as_str()];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w.as_str()) {
                    let iw = s.index[w.as_str()];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// The edges inside one cycle, with where each is written (the evidence to fix).
fn explain(scc: &[String], graph: &Graph, collapse: bool) -> String {
    let name = |n: &str| {
        if collapse {
            top(n).to_string()
        } else {
            n.to_string()
        }
    };
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    for e in &graph.edges {
        let (f, t) = (name(&e.from), name(&e.to));
        if f != t && scc.contains(&f) && scc.contains(&t) && seen.insert((f.clone(), t.clone())) {
            lines.push(format!("    {f} -> {t} ({})", e.at));
        }
    }
    format!("  cycle {}:\n{}", scc.join(" <-> "), lines.join("\n"))
}

fn adjacency(graph: &Graph, collapse: bool) -> BTreeMap<String, BTreeSet<String>> {
    let mut adj: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &graph.edges {
        let (f, t) = if collapse {
            (top(&e.from).to_string(), top(&e.to).to_string())
        } else {
            (e.from.clone(), e.to.clone())
        };
        if f != t {
            adj.entry(f).or_default().insert(t);
        }
    }
    adj
}

#[test]
fn the_module_layers_of_the_design_hold() {
    let graph = build();
    assert!(
        graph.edges.len() > 50,
        "only {} imports found: the scanner is broken",
        graph.edges.len()
    );
    let mut problems = Vec::new();
    let mut breaks_seen = BTreeSet::new();
    for e in &graph.edges {
        let (f, t) = (top(&e.from), top(&e.to));
        let rule = match (f, t) {
            ("verify", "serve") => Some("verify never imports serve"),
            ("serve", "verify") => Some("serve never imports verify"),
            ("render" | "explain", "lab") => Some("render and explain never import lab"),
            (f, "cli") if f != "cli" => Some("nothing in the library imports cli"),
            ("pem", t) if t != "pem" && t != "x509" => {
                Some("pem (the file readers) imports nothing of certlab but x509")
            }
            _ => None,
        };
        let Some(rule) = rule else { continue };
        if KNOWN_RULE_BREAKS.contains(&(e.from.as_str(), e.to.as_str())) {
            breaks_seen.insert((e.from.as_str(), e.to.as_str()));
        } else {
            problems.push(format!("  {rule}: {} -> {} at {}", e.from, e.to, e.at));
        }
    }
    for b in KNOWN_RULE_BREAKS
        .iter()
        .filter(|b| !breaks_seen.contains(*b))
    {
        problems.push(format!(
            "  the known rule break {} -> {} is gone: delete it from KNOWN_RULE_BREAKS",
            b.0, b.1
        ));
    }
    let known: Vec<BTreeSet<&str>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().copied().collect())
        .collect();
    let mut met = vec![false; known.len()];
    for collapse in [true, false] {
        for scc in cycles(&adjacency(&graph, collapse)) {
            let inside = known
                .iter()
                .position(|k| scc.iter().all(|n| k.contains(n.as_str())));
            match inside {
                Some(i) => met[i] = true,
                None => problems.push(explain(&scc, &graph, collapse)),
            }
        }
    }
    for (k, _) in known.iter().zip(&met).filter(|(_, m)| !**m) {
        problems.push(format!(
            "  the known cycle among {} is gone: delete it from KNOWN_CYCLES",
            k.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    assert!(
        problems.is_empty(),
        "module layering (DESIGN.md section 2):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_nested_and_relative_paths() {
    let text = "use crate::{outcome::Outcome, pki::{self, store}};\n\
                // use crate::serve::serve; (a comment)\n\
                fn f() { super::classify::x(); crate::x509::Cert::parse(b\"\"); }\n\
                #[cfg(test)]\n\
                mod tests { fn t() { let _ = (\"}\", '{', r#\"}\"#); crate::serve::serve(); } }\n\
                fn g() { crate::tls_names::alert_name(); }\n";
    let module = ["verify".to_string(), "check".to_string()];
    let refs: Vec<Vec<String>> = references(&module, false, text)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let firsts: Vec<String> = refs
        .iter()
        .map(|p| p[..2.min(p.len())].join("::"))
        .collect();
    assert_eq!(
        firsts,
        [
            "outcome::Outcome",
            "pki::self",
            "pki::store",
            "verify::classify",
            "x509::Cert",
            "tls_names::alert_name"
        ]
    );
    let adj: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .fold(BTreeMap::new(), |mut m, (f, t)| {
            m.entry(f.to_string()).or_default().insert(t.to_string());
            m
        });
    assert_eq!(cycles(&adj), [["a", "b", "c"]]);
}
