//! ARCHITECTURE.md stays true: every file, directory, type and function it names in backticks
//! exists, and every invariant names the tests that guard it (and they exist).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file and directory of the repository (relative, `/`-separated), but build output.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out
}

/// Names the Rust sources define: functions, types, modules, constants and enum variants.
fn definitions(root: &Path, files: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for f in files.iter().filter(|f| f.ends_with(".rs")) {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        for line in text.lines() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if [
                    "fn", "struct", "enum", "trait", "type", "mod", "const", "static",
                ]
                .contains(&pair[0])
                {
                    names.insert(pair[1].to_string());
                }
            }
            // An enum variant: a capitalised name alone at the start of a line.
            let t = line.trim_start();
            let head: String = t
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let rest = t[head.len()..].trim_start();
            if head.starts_with(|c: char| c.is_ascii_uppercase())
                && (rest.is_empty() || rest.starts_with(['{', '(', ',', '=']))
            {
                names.insert(head);
            }
        }
    }
    names
}

/// Backticked spans of `text`, in order.
fn spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn is_camel(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_snake(s: &str) -> bool {
    let s = s.trim_end_matches('*');
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

struct World {
    files: Vec<String>,
    defined: BTreeSet<String>,
}

impl World {
    /// A path as ARCHITECTURE.md writes it: from the repository root, or the end of one
    /// (`sqlite/batch.rs` in the store's section); `*` stands for any file of a directory.
    fn has_path(&self, p: &str) -> bool {
        let p = match p.find('*') {
            Some(i) => &p[..i],
            None => p,
        };
        let dir = format!("{}/", p.trim_end_matches('/'));
        self.files.iter().any(|f| {
            f == p
                || f.ends_with(&format!("/{p}"))
                || *f == dir
                || f.ends_with(&format!("/{dir}"))
                || (p.ends_with('/') && f.starts_with(p))
        })
    }

    /// A function whose name is `name` (or starts with it, for `recovery_*`).
    fn has_fn(&self, name: &str) -> bool {
        match name.strip_suffix('*') {
            Some(prefix) => self.defined.iter().any(|d| d.starts_with(prefix)),
            None => self.defined.contains(name),
        }
    }

    /// A module: a file `<name>.rs` or a directory `<name>/`.
    fn has_module(&self, name: &str) -> bool {
        self.has_path(&format!("{name}.rs")) || self.has_path(&format!("{name}/"))
    }
}

fn world() -> World {
    let root = repo();
    let files = tree(&root);
    let defined = definitions(&root, &files);
    World { files, defined }
}

fn architecture() -> String {
    std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap()
}

#[test]
fn the_files_types_and_functions_architecture_names_exist() {
    let w = world();
    let text = architecture();
    let mut missing = Vec::new();
    for s in spans(&text) {
        if s.contains(' ') || s.starts_with(['/', '<', '.', '-', '{']) || s.contains('=') {
            continue;
        }
        let ok = if s.ends_with(".rs") || s.contains('/') {
            w.has_path(s)
        } else if s.contains("::") {
            let last = s.split("::").last().unwrap_or(s);
            let last = last.split('(').next().unwrap_or(last);
            w.defined.contains(last) || w.has_module(last)
        } else if is_camel(s) {
            w.defined.contains(s)
        } else {
            true
        };
        if !ok {
            missing.push(s.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what does not exist: {missing:?}"
    );
}

#[test]
fn every_invariant_names_the_tests_that_guard_it_and_they_exist() {
    let w = world();
    let text = architecture();
    let invariants = text
        .split("## Invariants")
        .nth(1)
        .expect("an Invariants section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let bullets: Vec<&str> = invariants
        .split("\n- ")
        .skip(1)
        .filter(|b| b.starts_with("**"))
        .collect();
    assert!(bullets.len() >= 8, "{} invariants found", bullets.len());
    let mut problems = Vec::new();
    for bullet in bullets {
        let title = bullet.split("**").nth(1).unwrap_or_default();
        let after = bullet.split("**").nth(2).unwrap_or_default().trim_start();
        let Some(guards) = after.strip_prefix('(').and_then(|g| g.split(")").next()) else {
            problems.push(format!("{title:?} names no test"));
            continue;
        };
        let names = spans(guards);
        if !names
            .iter()
            .any(|n| n.ends_with(".rs") || (is_snake(n) && w.has_fn(n)))
        {
            problems.push(format!("{title:?} names no test file or test function"));
        }
        for n in names {
            let ok = if n.ends_with(".rs") {
                w.has_path(n)
            } else if n.starts_with("god-") {
                w.has_path(&format!("crates/{n}/"))
            } else if n.contains("::") {
                let last = n.split("::").last().unwrap_or(n);
                w.has_fn(last) || w.has_module(last)
            } else if is_snake(n) {
                w.has_fn(n) || w.has_module(n)
            } else {
                true
            };
            if !ok {
                problems.push(format!("{title:?}: `{n}` does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
