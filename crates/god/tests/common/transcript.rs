//! Transcript tests: run `god` commands as several people against a real server and compare the
//! whole session (each command, its standard output, its standard error, a non-zero exit
//! status) with a file under `tests/transcripts/`. `UPDATE_EXPECT=1` rewrites the files.
//!
//! What changes from run to run is replaced before comparing: the server's address, temporary
//! directories and API keys by names in angle brackets (`<server>`, `<home:carol>`,
//! `<key:carol>`), times by `YYYY-MM-DD hh:mm:ss` (the same width, so tables keep their
//! alignment) and durations by `m:ss`. Job ids are kept: each test has a fresh server, so they
//! are the same on every run. Trailing spaces are dropped.
//!
//! The format, one block per command:
//!
//! ```text
//! # a note
//! alice$ god project create genomics
//! project genomics created
//! ! god: the standard error's lines start with `! `
//! [exit 1]
//! ```

use super::{god_bin, temp_dir, Server};
use expect_test::ExpectFile;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Someone running `god`: a name for the transcript, a home directory, an environment.
#[derive(Clone)]
pub struct Actor {
    pub name: String,
    pub home: PathBuf,
    env: Vec<(String, Option<String>)>,
}

impl Actor {
    /// The same person without `var` in the environment (e.g. `GOD_APIKEY`, to use what
    /// `god login` saved), named `name` in the transcript.
    pub fn without(&self, var: &str, name: &str) -> Actor {
        let mut a = self.clone();
        a.name = name.to_string();
        a.env.retain(|(k, _)| k != var);
        a.env.push((var.to_string(), None));
        a
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(god_bin());
        c.args(args).env_remove("COLUMNS");
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    }
}

pub struct Transcript {
    text: String,
    /// `(what, placeholder)`, applied longest first when comparing.
    subs: Vec<(String, String)>,
}

impl Transcript {
    /// A transcript of commands against `srv`: its address, directory and administrator key
    /// are replaced by `<server>`, `<dir>` and `<key:admin>`.
    pub fn new(srv: &Server) -> Transcript {
        let mut t = Transcript {
            text: String::new(),
            subs: Vec::new(),
        };
        t.replace(&srv.url, "<server>");
        t.replace(srv.dir.to_string_lossy(), "<dir>");
        t.replace(&srv.admin_key, "<key:admin>");
        t
    }

    /// Replace `what` by `placeholder` in the transcript (also in what was recorded already).
    pub fn replace(&mut self, what: impl Into<String>, placeholder: &str) {
        let what = what.into();
        if !what.is_empty() {
            self.subs.push((what, placeholder.to_string()));
        }
    }

    /// `login` using the API with `key` (from `GOD_SERVER`, `GOD_USER`, `GOD_APIKEY`), with a
    /// home directory of their own.
    pub fn user(&mut self, srv: &Server, login: &str, key: &str) -> Actor {
        let mut a = self.person(login);
        a.env.extend(
            [
                ("GOD_SERVER", srv.url.as_str()),
                ("GOD_USER", login),
                ("GOD_APIKEY", key),
                ("GOD_IMAGE", "debian:stable"),
            ]
            .map(|(k, v)| (k.to_string(), Some(v.to_string()))),
        );
        self.replace(key, &format!("<key:{login}>"));
        a
    }

    /// Someone with no `GOD_*` variables set, only a home directory (`god login` first).
    pub fn person(&mut self, name: &str) -> Actor {
        let home = temp_dir(&format!("transcript-{name}"));
        self.replace(home.to_string_lossy(), &format!("<home:{name}>"));
        let env = vec![
            ("HOME".to_string(), Some(home.to_string_lossy().to_string())),
            (
                "GOD_CLIENT_CONFIG".to_string(),
                Some(home.join("client.json").to_string_lossy().to_string()),
            ),
            ("GOD_SERVER".to_string(), None),
            ("GOD_USER".to_string(), None),
            ("GOD_APIKEY".to_string(), None),
        ];
        Actor {
            name: name.to_string(),
            home,
            env,
        }
    }

    /// A line starting with `#` in the transcript.
    pub fn note(&mut self, text: &str) {
        self.text.push_str(&format!("# {text}\n"));
    }

    /// Run a command and record it; any exit status.
    pub fn run(&mut self, who: &Actor, args: &[&str]) -> Output {
        self.run_with(who, args, None, None)
    }

    /// Run a command with `stdin` as its standard input and record it.
    pub fn run_stdin(&mut self, who: &Actor, args: &[&str], stdin: &str) -> Output {
        self.run_with(who, args, Some(stdin), None)
    }

    /// Run a command that must succeed and record it; returns its standard output.
    pub fn ok(&mut self, who: &Actor, args: &[&str]) -> String {
        let out = self.run(who, args);
        self.must_succeed(who, args, &out)
    }

    /// Run a command that must succeed and record only the lines of its output that contain
    /// one of `patterns`, spaces squeezed (shown as `| grep -e … | tr -s ' '`): for views with
    /// parts that change (a state that moves on, times, the labels' width that follows them).
    pub fn ok_grep(&mut self, who: &Actor, args: &[&str], patterns: &[&str]) -> String {
        let out = self.run_with(who, args, None, Some(patterns));
        self.must_succeed(who, args, &out)
    }

    /// Run a command that must succeed; its output is not compared (usage of today, ...).
    pub fn ok_unstable(&mut self, who: &Actor, args: &[&str]) -> String {
        let out = self.run_with(who, args, None, Some(&[]));
        self.must_succeed(who, args, &out)
    }

    /// Run a command that must fail as the client fails: exit status 1 and one line on
    /// standard error, `god: …`. Records it and returns that line.
    pub fn fails(&mut self, who: &Actor, args: &[&str]) -> String {
        let out = self.run(who, args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "god {args:?} as {} should fail with status 1:\n{}",
            who.name,
            self.text
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        assert!(err.starts_with("god: "), "{err}");
        err.trim_end().to_string()
    }

    /// Run a command that must succeed and print JSON, without recording it: for checks of
    /// the server's documents field by field.
    pub fn json(&self, who: &Actor, args: &[&str]) -> serde_json::Value {
        let out = who.command(args).output().unwrap();
        let text = self.must_succeed(who, args, &out);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("god {args:?}: {e}: {text}"))
    }

    fn must_succeed(&self, who: &Actor, args: &[&str], out: &Output) -> String {
        assert!(
            out.status.success(),
            "god {args:?} as {} failed: {}\n{}",
            who.name,
            String::from_utf8_lossy(&out.stderr),
            self.text
        );
        String::from_utf8(out.stdout.clone()).unwrap()
    }

    /// `grep`: `None` records all the output, `Some(&[])` none of it.
    fn run_with(
        &mut self,
        who: &Actor,
        args: &[&str],
        stdin: Option<&str>,
        grep: Option<&[&str]>,
    ) -> Output {
        let mut c = who.command(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();

        let mut line = format!("{}$ ", who.name);
        if let Some(s) = stdin {
            line.push_str(&format!("echo {} | ", quote(s.trim_end())));
        }
        line.push_str("god");
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let shown: Vec<String> = match grep {
            None => stdout.lines().map(str::to_string).collect(),
            Some([]) => {
                line.push_str("   # output not compared");
                Vec::new()
            }
            Some(patterns) => {
                line.push_str(" | grep");
                for p in patterns {
                    line.push_str(&format!(" -e {}", quote(p)));
                }
                line.push_str(" | tr -s ' '");
                stdout
                    .lines()
                    .filter(|l| patterns.iter().any(|p| l.contains(p)))
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect()
            }
        };
        self.text.push_str(&line);
        self.text.push('\n');
        for l in shown {
            self.text.push_str(l.trim_end());
            self.text.push('\n');
        }
        for l in String::from_utf8_lossy(&out.stderr).lines() {
            self.text.push_str(&format!("! {}\n", l.trim_end()));
        }
        match out.status.code() {
            Some(0) => {}
            Some(c) => self.text.push_str(&format!("[exit {c}]\n")),
            None => self.text.push_str("[killed by a signal]\n"),
        }
        out
    }

    /// The transcript with the changing parts replaced.
    pub fn normalized(&self) -> String {
        let mut subs = self.subs.clone();
        subs.sort_by_key(|(what, _)| std::cmp::Reverse(what.len()));
        let mut text = self.text.clone();
        for (what, placeholder) in &subs {
            text = text.replace(what.as_str(), placeholder);
        }
        let text = mask(&text, "dddd-dd-dd dd:dd:dd", "YYYY-MM-DD hh:mm:ss");
        text.split_inclusive('\n').map(mask_durations).collect()
    }

    /// Compare with the expected transcript (`UPDATE_EXPECT=1` writes it).
    pub fn check(&self, expected: ExpectFile) {
        expected.assert_eq(&self.normalized());
    }
}

/// A shell word: as is when it is safe, else in single quotes.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,<>@+%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Replace each match of `pattern` (`d` a digit, anything else itself) by `with`.
fn mask(text: &str, pattern: &str, with: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let matches_at = |i: usize| {
        i + p.len() <= t.len()
            && p.iter().zip(&t[i..]).all(|(pc, tc)| match pc {
                'd' => tc.is_ascii_digit(),
                other => other == tc,
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < t.len() {
        if matches_at(i) {
            out.push_str(with);
            i += p.len();
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    out
}

/// Durations (`0:05`, `1:02:03`, whole words) become `m:ss`.
fn mask_durations(line: &str) -> String {
    let is_duration = |w: &str| {
        let w = w.trim_end_matches([',', ')', ';']);
        let parts: Vec<&str> = w.split(':').collect();
        (2..=3).contains(&parts.len())
            && !parts[0].is_empty()
            && parts[0].chars().all(|c| c.is_ascii_digit())
            && parts[1..]
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    };
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_duration(word) {
            let rest = &word[word.trim_end_matches([',', ')', ';']).len()..];
            out.push_str("m:ss");
            out.push_str(rest);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in line.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}
