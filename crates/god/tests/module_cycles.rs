//! No import cycle between the modules of one crate: for every crate under `crates/*/src` and
//! every module with children, the children that name each other (`use crate::a::…`,
//! `crate::a::…`, `super::a`, `use crate::{a, b}`) must form no cycle. A cycle means two
//! modules are one: a shared type goes down into a module both can use.
//!
//! Test code is left out (it may use anything): files named `tests.rs` or under a `tests/`
//! directory, and what follows the first `#[cfg(test)]` of a file (where this code base keeps
//! its test modules).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// The module path of a source file under `src`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    let root = parts.is_empty() && matches!(stem, "lib" | "main");
    if stem != "mod" && !root {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The absolute paths `code` names from module `here` (only their leading segments matter).
fn references(here: &ModPath, code: &str) -> Vec<ModPath> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (start, _) in line
            .match_indices("crate::")
            .chain(line.match_indices("super::"))
        {
            let before = line[..start].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue; // `$crate::`, `a::super::` (part of a longer path)
            }
            let mut rest = &line[start..];
            let mut base: ModPath = if let Some(r) = rest.strip_prefix("crate::") {
                rest = r;
                Vec::new()
            } else {
                let mut b = here.clone();
                while let Some(r) = rest.strip_prefix("super::") {
                    b.pop();
                    rest = r;
                }
                b
            };
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: each first-level name (on this line).
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    if let Some(id) = ident_at(item.trim()) {
                        let mut p = base.clone();
                        p.push(id.to_string());
                        out.push(p);
                    }
                }
                continue;
            }
            while let Some(id) = ident_at(rest) {
                base.push(id.to_string());
                match rest[id.len()..].strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            out.push(base);
        }
    }
    out
}

/// Cycles among the children of each module of the crate whose sources are in `src`.
fn cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    // (parent, from child, to child) -> files that make the edge
    let mut edges: BTreeMap<(ModPath, String, String), BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let here = module_of(src, file);
        if here.iter().any(|m| m == "tests") {
            continue;
        }
        let code = std::fs::read_to_string(file).unwrap();
        let code = match code.find("#[cfg(test)]") {
            // A crate root declares its test-only modules with it: keep the rest of lib.rs.
            Some(at) if !here.is_empty() => code[..at].to_string(),
            _ => code,
        };
        for target in references(&here, &code) {
            let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common >= here.len() || common >= target.len() {
                continue; // a module naming itself, an ancestor or a descendant
            }
            let parent = here[..common].to_vec();
            let (from, to) = (here[common].clone(), target[common].clone());
            let mut to_path = parent.clone();
            to_path.push(to.clone());
            if !modules.contains(&to_path) {
                continue; // an item of the parent, not a module
            }
            let rel = file.strip_prefix(src).unwrap().display().to_string();
            edges.entry((parent, from, to)).or_default().insert(rel);
        }
    }
    let mut by_parent: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (parent, from, to) in edges.keys() {
        by_parent
            .entry(parent.clone())
            .or_default()
            .entry(from.clone())
            .or_default()
            .insert(to.clone());
    }
    let mut found = Vec::new();
    for (parent, graph) in &by_parent {
        for component in strongly_connected(graph) {
            let name = if parent.is_empty() {
                "crate".to_string()
            } else {
                format!("crate::{}", parent.join("::"))
            };
            let why: Vec<String> = component
                .iter()
                .flat_map(|a| component.iter().map(move |b| (a, b)))
                .filter_map(|(a, b)| {
                    edges.get(&(parent.clone(), a.clone(), b.clone())).map(|f| {
                        format!(
                            "{a} -> {b} ({})",
                            f.iter().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })
                })
                .collect();
            found.push(format!("in {name}: {}", why.join("; ")));
        }
    }
    found
}

/// Tarjan's strongly connected components of more than one node.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_module_of_a_crate_imports_in_a_cycle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            checked += 1;
            for c in cycles(&src) {
                found.push(format!("{}: {c}", src.display()));
            }
        }
    }
    assert!(
        checked >= 6,
        "found only {checked} crates under {}",
        crates.display()
    );
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_cycles() {
    let dir = std::env::temp_dir().join(format!("god-cycles-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("api")).unwrap();
    let write = |p: &str, s: &str| std::fs::write(src.join(p), s).unwrap();
    write("lib.rs", "mod a;\nmod b;\nmod c;\nmod api;\n");
    // Test code would make api and a a cycle: it is left out.
    write(
        "a.rs",
        "use crate::b::Thing;\n#[cfg(test)]\nmod tests { use crate::api::Shared; }\n",
    );
    write(
        "b.rs",
        "// use crate::a::X; (a comment)\nfn f() { crate::c::g() }\n",
    );
    write("c.rs", "use crate::{a, b};\n");
    write(
        "api/mod.rs",
        "mod x;\nmod y;\n#[cfg(test)]\nmod tests;\npub struct Shared;\n",
    );
    write("api/x.rs", "use super::y::Y;\nuse super::Shared;\n");
    write(
        "api/y.rs",
        "use crate::api::x::X;\n#[cfg(test)]\nmod tests { use crate::a::A; }\n",
    );
    write("api/tests.rs", "use crate::c::C;\n");
    let found = cycles(&src);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("in crate: a -> b (a.rs)"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("in crate::api: x -> y (api/x.rs)"),
        "{found:#?}"
    );
}
