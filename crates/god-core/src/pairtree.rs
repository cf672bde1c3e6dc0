//! Pairtree paths of job directories (reference section 4.2):
//! `<shared_dir>/tasks/pairtree_root/<pairtree(id)>/task/`.

/// Escape an identifier the pairtree way and cut it into 2-character segments.
pub fn segments(id: &str) -> Vec<String> {
    let mut escaped = String::new();
    for b in id.bytes() {
        match b {
            b'/' => escaped.push('='),
            b':' => escaped.push('+'),
            b'.' => escaped.push(','),
            b'"' | b'*' | b'+' | b',' | b'<' | b'=' | b'>' | b'?' | b'\\' | b'^' | b'|' => {
                escaped.push_str(&format!("^{b:02x}"))
            }
            0x21..=0x7e => escaped.push(b as char),
            _ => escaped.push_str(&format!("^{b:02x}")),
        }
    }
    let chars: Vec<char> = escaped.chars().collect();
    chars.chunks(2).map(|c| c.iter().collect()).collect()
}

/// Relative path of a job directory under `shared_dir`.
pub fn task_dir(id: &str) -> String {
    let mut p = String::from("tasks/pairtree_root");
    for s in segments(id) {
        p.push('/');
        p.push_str(&s);
    }
    p.push_str("/task");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairtree_cuts_in_pairs() {
        assert_eq!(task_dir("1234"), "tasks/pairtree_root/12/34/task");
        assert_eq!(task_dir("12345"), "tasks/pairtree_root/12/34/5/task");
        assert_eq!(task_dir("7"), "tasks/pairtree_root/7/task");
        assert_eq!(segments("user_a.b"), vec!["us", "er", "_a", ",b"]);
    }
}
