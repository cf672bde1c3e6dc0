//! The checks: one function per behaviour every executor owes, each taking the fixture.

use super::{exited, read, until, Backend, Fixture};
use futures_util::StreamExt;
use god_core::JobId;
use god_exec::{
    ContainerState, ExecError, ExecRequest, Executor, ExitEvent, SessionEnd, TerminalOutput,
    TerminalRequest, TerminalSize, Termination,
};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

fn skip(check: &str, why: &str) {
    eprintln!("{check}: skipped ({why})");
}

/// A job that runs until it is ended.
const FOREVER: &str = "#!/bin/sh\necho ready > ready\nsleep 300\n";

const WHO_AM_I: &str = r#"#!/bin/sh
id -u
id -g
id -G
echo "user=$USER logname=$LOGNAME"
echo "jid=$GODOCKER_JID"
pwd
echo "home=$HOME pwd=$GODOCKER_PWD"
echo "init-vars=$(env | grep -c '^GOD_INIT_')"
echo data > out.txt
echo "to stderr" >&2
id -un 2>/dev/null || true
"#;

/// The script runs as the job's uid, gid and groups (never root), in its job directory, with
/// its environment; what it writes is the user's; the host's users and groups are untouched.
pub async fn identity<B: Backend>(f: &Fixture<B>) {
    if !f.traits().runs_scripts {
        return skip("identity", "no scripts run");
    }
    let passwd = std::fs::read("/etc/passwd").unwrap();
    let group = std::fs::read("/etc/group").unwrap();
    let (state, dir, _) = f.run(&f.task(101, WHO_AM_I), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    let inside = f.backend.dir_inside(&dir);
    let log = read(&dir, "god.log");
    let mut expected = vec![
        "2001".to_string(),
        "2002".into(),
        "2002 2003".into(),
        "user=alice logname=alice".into(),
        "jid=101".into(),
        inside.clone(),
        format!("home={inside} pwd={inside}"),
        "init-vars=0".into(),
    ];
    if f.traits().own_passwd {
        expected.push("alice".into()); // god-init named the user in the image's /etc/passwd
    }
    let lines: Vec<&str> = log.lines().take(expected.len()).collect();
    assert_eq!(lines, expected, "god.err: {}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.err"), "to stderr\n");
    for name in ["out.txt", "god.log", "god.err", "god.info"] {
        let m = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!((m.uid(), m.gid()), (2001, 2002), "{name}");
    }
    let duration = god_exec::jobdir::duration(&dir).expect("god.info has start and end");
    assert!((0.0..60.0).contains(&duration), "{duration}");
    assert_eq!(
        std::fs::read("/etc/passwd").unwrap(),
        passwd,
        "the host's users"
    );
    assert_eq!(
        std::fs::read("/etc/group").unwrap(),
        group,
        "the host's groups"
    );
}

/// No capabilities and no_new_privs: setuid binaries give the script nothing.
pub async fn no_new_privs<B: Backend>(f: &Fixture<B>) {
    if !f.traits().runs_scripts {
        return skip("no_new_privs", "no scripts run");
    }
    let script = "#!/bin/sh\ngrep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -d ' \\t'\n";
    let (state, dir, _) = f.run(&f.task(111, script), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    assert_eq!(
        read(&dir, "god.log"),
        "CapEff:0000000000000000\nNoNewPrivs:1\n"
    );
}

/// The script cannot write outside its job directory, nor read a root-only file through a link.
pub async fn no_escape<B: Backend>(f: &Fixture<B>) {
    if !f.traits().runs_scripts {
        return skip("no_escape", "no scripts run");
    }
    let script = r#"#!/bin/sh
for p in /god-escape /etc/god-escape ../god-escape; do touch "$p" 2>/dev/null && echo "wrote $p"; done
ln -s /etc/shadow shadow-link
cat shadow-link >/dev/null 2>&1 && echo "read /etc/shadow"
echo contained
"#;
    let (state, dir, _) = f.run(&f.task(121, script), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.log"), "contained\n");
    for p in ["/god-escape", "/etc/god-escape"] {
        assert!(!std::path::Path::new(p).exists(), "{p}");
    }
    assert!(!dir.parent().unwrap().join("god-escape").exists());
}

/// A granted volume is where the job asked for it, as its home: written as the user when
/// granted read-write, unwritable when granted read-only.
pub async fn volumes<B: Backend>(f: &Fixture<B>) {
    if !f.traits().runs_scripts || !f.traits().mounts_volumes {
        return skip("volumes", "volumes are not mounted here");
    }
    let home = f.dirs.root.join("home-alice");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(2001), Some(2002)).unwrap();
    std::fs::write(home.join("in.txt"), "from the host\n").unwrap();
    let with_home = |id, acl: &str, cmd: &str| {
        let mut t = f.task(id, cmd);
        t.container.volumes.push(god_core::task::Volume {
            name: "home".into(),
            acl: acl.into(),
            path: Some(home.to_string_lossy().into_owned()),
            mount: Some(god_core::launch::HOME_MOUNT.into()),
        });
        t
    };
    let script = "#!/bin/sh\necho \"$HOME\"\ncat \"$HOME/in.txt\"\necho out > \"$HOME/out.txt\"\n";
    let (state, dir, _) = f.run(&with_home(125, "rw", script), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    assert_eq!(
        read(&dir, "god.log"),
        format!("{}\nfrom the host\n", god_core::launch::HOME_MOUNT)
    );
    assert_eq!(read(&home, "out.txt"), "out\n");
    let m = std::fs::metadata(home.join("out.txt")).unwrap();
    assert_eq!((m.uid(), m.gid()), (2001, 2002));
    let script = "#!/bin/sh\ntouch \"$HOME/nope\" 2>/dev/null && echo wrote || echo refused\n";
    let (state, dir, _) = f.run(&with_home(126, "ro", script), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.log"), "refused\n");
    assert!(!home.join("nope").exists());
}

/// Root only in root mode: a user job with uid 0 is refused by god-init.
pub async fn root_only_when_asked<B: Backend>(f: &Fixture<B>) {
    if !f.traits().runs_scripts {
        return skip("root_only_when_asked", "no scripts run");
    }
    let mut t = f.task(131, "#!/bin/sh\nid -u\necho \"$USER\"\ntouch mine\n");
    t.container.root = true;
    let (state, dir, _) = f.run(&t, 0).await;
    assert_eq!(state, exited(0), "{}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.log"), "0\nroot\n");
    assert_eq!(std::fs::metadata(dir.join("mine")).unwrap().uid(), 0);
    let mut t = f.task(132, "#!/bin/sh\nid -u\n");
    t.user.uid = 0;
    let (state, dir, _) = f.run(&t, 126).await;
    assert_eq!(state, exited(126), "uid 0 without root mode is refused");
    assert!(read(&dir, "god.err").contains("refusing"));
}

/// Exit codes pass through: 0, n, 128+n for a script killed by its own signal, 127 for a
/// missing interpreter; a second attempt in the same directory does not see the first's end.
pub async fn exit_codes<B: Backend>(f: &Fixture<B>) {
    let scripts = f.traits().runs_scripts;
    let (state, _, _) = f.run(&f.task(141, "#!/bin/sh\ntrue\n"), 0).await;
    assert_eq!(state, exited(0));
    let (state, dir, _) = f
        .run(&f.task(142, "#!/bin/sh\necho bye\nexit 3\n"), 3)
        .await;
    assert_eq!(state, exited(3));
    let (state, dir2, _) = f.run(&f.task(143, "echo no shebang\nexit 5\n"), 5).await;
    assert_eq!(state, exited(5));
    let (state, _, _) = f
        .run(&f.task(144, "#!/bin/sh\nkill -USR1 $$\nsleep 5\n"), 138)
        .await;
    assert_eq!(state, exited(138), "128 + SIGUSR1");
    let mut t = f.task(145, "#!/nonexistent/interpreter\n");
    let (state, dir3, _) = f.run(&t, 127).await;
    assert_eq!(state, exited(127));
    if scripts {
        assert_eq!(read(&dir, "god.log"), "bye\n");
        assert_eq!(read(&dir2, "god.log"), "no shebang\n");
        let err = read(&dir3, "god.err");
        assert!(err.contains("/nonexistent/interpreter"), "{err}");
    }
    t.status.attempts = 2;
    t.command.cmd = "#!/bin/sh\nsleep 0.5\nexit 4\n".into();
    let (spec, _) = f.spec(&t);
    let id = f.exec().start(&spec).await.unwrap();
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );
    f.backend.script_ends(&id, 4);
    assert_eq!(f.wait_exit(&id, Duration::from_secs(20)).await, exited(4));
}

/// `watch_exits` reports a job that ended, and returns once its receiver is dropped.
pub async fn exits_are_watched<B: Backend>(f: &Fixture<B>) {
    let (mut rx, watcher) = f.watch().await;
    let (state, _, _) = f.run(&f.task(151, "#!/bin/sh\nexit 0\n"), 0).await;
    assert_eq!(state, exited(0));
    let woke = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert_eq!(
        woke.expect("an exit notification"),
        Some(ExitEvent::Exited(JobId(151)))
    );
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("watch_exits returns once the receiver is dropped")
        .unwrap();
}

/// A job over its ram is killed as out of memory; one within it is left alone.
pub async fn memory_limit<B: Backend>(f: &Fixture<B>) {
    if !f.traits().enforces_memory {
        return skip("memory_limit", "memory is not enforced here");
    }
    let hog = |id, bytes| {
        let mut t = f.task(
            id,
            &format!("#!/bin/bash\nx=$(head -c {bytes} /dev/zero | tr '\\0' a)\necho \"survived ${{#x}}\"\n"),
        );
        t.requirements.ram = 0.064;
        t
    };
    let t = hog(161, 200_000_000);
    assert_eq!(f.spec(&t).0.memory_bytes, 64_000_000);
    let (state, dir, _) = f.run(&t, 137).await;
    // The kernel picks which process of the job dies (the shell, `head` or `tr`): the exit
    // code follows from that choice; that the engine says "out of memory" does not.
    assert!(
        matches!(
            &state,
            ContainerState::Exited(Termination::OutOfMemory { .. })
        ),
        "{state:?} god.log: {}",
        read(&dir, "god.log")
    );
    assert!(!read(&dir, "god.log").contains("survived 200000000"));
    let (state, dir, _) = f.run(&hog(162, 10_000_000), 0).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.log"), "survived 10000000\n");
}

/// A running job killed ends with 137; killing or removing it again, or once gone, is no error.
pub async fn kill<B: Backend>(f: &Fixture<B>) {
    let (id, _, _) = f.start_ready(&f.task(171, FOREVER)).await;
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );
    f.kill_to_end(&id).await;
    f.exec().kill(&id).await.unwrap(); // already stopped
    f.exec().remove(&id).await.unwrap();
    assert_eq!(f.exec().inspect(&id).await.unwrap(), ContainerState::Gone);
    f.exec().kill(&id).await.unwrap(); // gone
    f.exec().remove(&id).await.unwrap(); // gone
}

/// Where the executor can pause: a paused job makes no progress, an unpaused one does again, a
/// paused one can be killed, and an ended one cannot be paused.
pub async fn pause<B: Backend>(f: &Fixture<B>) {
    if !f.exec().capabilities().pause {
        return skip("pause", "the executor cannot pause");
    }
    let counter = "#!/bin/sh\ni=0\nwhile true; do i=$((i+1)); echo $i >> count; sleep 0.05; done\n";
    let (spec, dir) = f.spec(&f.task(181, counter));
    let id = f.exec().start(&spec).await.unwrap();
    let scripts = f.traits().runs_scripts;
    let lines = || read(&dir, "count").lines().count();
    let progress = |n| {
        until("progress", Duration::from_secs(20), move || {
            !scripts || lines() >= n
        })
    };
    progress(3).await;
    f.exec().pause(&id).await.unwrap();
    assert_eq!(f.exec().inspect(&id).await.unwrap(), ContainerState::Paused);
    tokio::time::sleep(Duration::from_millis(200)).await; // a write in flight lands
    let frozen = lines();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(lines(), frozen, "no progress while paused");
    assert_eq!(f.exec().inspect(&id).await.unwrap(), ContainerState::Paused);
    f.exec().unpause(&id).await.unwrap();
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );
    progress(frozen + 4).await;
    f.exec().pause(&id).await.unwrap();
    f.kill_to_end(&id).await;
    assert!(
        f.exec().pause(&id).await.is_err(),
        "an ended job cannot be paused"
    );
}

/// Starting the same spec again returns the same container and does not run the job twice,
/// whether it is still running or over.
pub async fn restart_safety<B: Backend>(f: &Fixture<B>) {
    let scripts = f.traits().runs_scripts;
    let once =
        |dir: &std::path::Path| assert!(!scripts || read(dir, "runs") == "run\n", "ran twice");
    let t = f.task(
        191,
        "#!/bin/sh\necho run >> runs\necho ready > ready\nsleep 300\n",
    );
    let (first, spec, dir) = f.start_ready(&t).await;
    assert_eq!(first, f.exec().start(&spec).await.unwrap());
    let listed = f.exec().list_labelled(f.server()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        f.exec().inspect(&first).await.unwrap(),
        ContainerState::Running
    );

    let t = f.task(192, "#!/bin/sh\necho run >> runs\nexit 0\n");
    let (state, dir2, ended) = f.run(&t, 0).await;
    assert_eq!(state, exited(0));
    assert_eq!(ended, f.exec().start(&f.spec(&t).0).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.exec().inspect(&ended).await.unwrap(), exited(0));
    once(&dir);
    once(&dir2);
    f.exec().kill(&first).await.unwrap();
}

/// `list_labelled` finds this server's containers, with their name, job and state, and not
/// another server's.
pub async fn recovery_listing<B: Backend>(f: &Fixture<B>) {
    let (running, spec, _) = f.start_ready(&f.task(201, FOREVER)).await;
    let (state, _, over) = f.run(&f.task(202, "#!/bin/sh\nexit 3\n"), 3).await;
    assert_eq!(state, exited(3));
    let other_server = format!("{}-other", f.server());
    let (other, _) = f.spec_for(&f.task(203, FOREVER), &other_server);
    let other = f.exec().start(&other).await.unwrap();

    let listed = f.exec().list_labelled(f.server()).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let find = |id: &str| listed.iter().find(|l| l.container_id == id).unwrap();
    assert_eq!(find(&running).name, spec.name);
    assert_eq!(find(&running).job, Some(JobId(201)));
    assert_eq!(find(&running).state, ContainerState::Running);
    assert_eq!(find(&over).job, Some(JobId(202)));
    assert_eq!(find(&over).state, exited(3));
    let theirs = f.exec().list_labelled(&other_server).await.unwrap();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0].job, Some(JobId(203)));

    // Batched status gives what one inspect each gives, whether it lists or inspects.
    let names = [
        running.clone(),
        spec.name.clone(),
        over.clone(),
        format!("{}-gone", spec.name),
    ];
    for n in [names.len(), god_exec::INSPECT_MANY_LISTS + 1] {
        let asked: Vec<String> = names.iter().cycle().take(n).cloned().collect();
        let many = f.exec().inspect_many(f.server(), &asked).await.unwrap();
        let mut one = Vec::new();
        for c in &asked {
            one.push(f.exec().inspect(c).await.unwrap());
        }
        assert_eq!(many, one, "{asked:?}");
    }
    for id in [&running, &other] {
        f.exec().kill(id).await.unwrap();
        f.wait_exit(id, Duration::from_secs(20)).await;
    }
    f.exec().remove(&other).await.unwrap();
}

/// Where the executor gives stats: a running job's cpu time, memory and limit; none once over.
pub async fn stats<B: Backend>(f: &Fixture<B>) {
    let script = "#!/bin/sh\ni=0\nwhile [ $i -lt 100000 ]; do i=$((i+1)); done\n\
                  x=$(head -c 4000000 /dev/zero | tr '\\0' a)\necho ready > ready\nsleep 300\n";
    let (id, spec, _) = f.start_ready(&f.task(211, script)).await;
    if !f.exec().capabilities().stats {
        assert!(f.exec().stats(&id).await.is_err());
        f.exec().kill(&id).await.unwrap();
        return skip("stats", "the executor gives none");
    }
    let stats = f.exec().stats(&id).await.unwrap();
    assert!(
        stats.cpu_seconds > 0.0 && stats.memory_bytes > 0,
        "{stats:?}"
    );
    assert_eq!(stats.memory_limit_bytes, Some(spec.memory_bytes));
    f.exec().kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(20)).await;
    assert!(
        f.exec().stats(&id).await.is_err(),
        "an ended job has no stats"
    );
}

/// Where the executor can exec: a command runs in the running job as its user (never root,
/// without privileges, with no_new_privs), with its output and exit code, bounded by its
/// timeout; nothing runs in an ended job.
pub async fn exec<B: Backend>(f: &Fixture<B>) {
    let t = f.task(221, FOREVER);
    let (id, _, _) = f.start_ready(&t).await;
    let mut request = ExecRequest {
        argv: [
            "sh",
            "-c",
            "id -u; id -g; echo \"$GREETING\"; echo oops >&2; exit 3",
        ]
        .map(String::from)
        .to_vec(),
        uid: t.user.uid,
        gid: t.user.gid,
        env: vec![("GREETING".into(), "hello".into())],
        timeout: Duration::from_secs(30),
    };
    if !f.exec().capabilities().exec {
        let answer = f.exec().exec(&id, &request).await;
        assert!(
            matches!(answer, Err(ExecError::Unsupported { .. })),
            "{answer:?}"
        );
        f.exec().kill(&id).await.unwrap();
        return skip("exec", "the executor cannot exec");
    }
    let out = f.exec().exec(&id, &request).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2001\n2002\nhello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!((out.exit_code, out.truncated), (Some(3), false));
    // No capability, no_new_privs: a setuid binary gives the command nothing.
    let privileges = ExecRequest {
        argv: [
            "sh",
            "-c",
            "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -d ' \\t'",
        ]
        .map(String::from)
        .to_vec(),
        ..request.clone()
    };
    let out = f.exec().exec(&id, &privileges).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "CapEff:0000000000000000\nNoNewPrivs:1\n"
    );
    let missing = ExecRequest {
        argv: vec!["no-such-command".into()],
        ..request.clone()
    };
    let out = f.exec().exec(&id, &missing).await.unwrap();
    assert_eq!(out.exit_code, Some(127), "{out:?}");
    request.uid = 0;
    let as_root = f.exec().exec(&id, &request).await;
    assert!(
        matches!(as_root, Err(ExecError::Refused(_))),
        "never as root"
    );
    request.uid = t.user.uid;
    let slow = ExecRequest {
        argv: ["sh", "-c", "echo started; sleep 30"]
            .map(String::from)
            .to_vec(),
        timeout: Duration::from_millis(500),
        ..request.clone()
    };
    let out = f.exec().exec(&id, &slow).await.unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.exit_code),
        (&b"started\n"[..], None)
    );
    f.exec().kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(20)).await;
    let ended = f.exec().exec(&id, &request).await;
    assert!(matches!(ended, Err(ExecError::Refused(_))), "{ended:?}");
}

/// Read `output` into `seen` until it holds `want` (or fail after 30 s, or at its end).
async fn read_until(output: &mut TerminalOutput, seen: &mut String, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, output.next()).await {
            Ok(Some(chunk)) => seen.push_str(&String::from_utf8_lossy(&chunk.unwrap())),
            Ok(None) => panic!("the terminal ended before {want:?}: {seen:?}"),
            Err(_) => panic!("no {want:?} within 30 s: {seen:?}"),
        }
    }
}

/// Read `output` to its end (or fail after 30 s).
async fn read_to_end(output: &mut TerminalOutput, seen: &mut String) {
    let drain = async {
        while let Some(chunk) = output.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(30), drain)
            .await
            .is_ok(),
        "the terminal did not end"
    );
}

/// Where the executor opens terminals: a shell on a TTY in the running job, as its user (never
/// root), in the directory and with the environment asked, that answers what is typed, takes a
/// new size and ends with its exit code; a hang-up ends a session; none opens in an ended job.
pub async fn terminal<B: Backend>(f: &Fixture<B>) {
    use tokio::io::AsyncWriteExt;
    let t = f.task(222, FOREVER);
    let (id, _, dir) = f.start_ready(&t).await;
    let inside = f.backend.dir_inside(&dir);
    let mut request = TerminalRequest::shell(t.user.uid, t.user.gid, TerminalSize::DEFAULT);
    request.working_dir = Some(inside.clone());
    request.env = vec![("GREETING".into(), "hello".into())];
    if !f.exec().capabilities().terminal {
        let answer = f.exec().terminal(&id, &request).await;
        assert!(
            matches!(answer, Err(ExecError::Unsupported { .. })),
            "{answer:?}"
        );
        f.exec().kill(&id).await.unwrap();
        return skip("terminal", "the executor opens no terminal");
    }
    let mut term = f.exec().terminal(&id, &request).await.unwrap();
    let mut seen = String::new();
    // Typed text is echoed: what is looked for is only in the command's output.
    term.input
        .write_all(b"echo \"who=$(id -u):$(id -g) at=$(pwd) $GREETING $TERM\"; [ -t 0 ] && echo \"on a t\"ty; stty size\n")
        .await
        .unwrap();
    read_until(&mut term.output, &mut seen, "on a tty").await;
    let want = format!("who=2001:2002 at={inside} hello xterm-256color");
    assert!(seen.contains(&want), "{want:?} in {seen:?}");
    read_until(&mut term.output, &mut seen, "24 80").await;
    term.control
        .resize(TerminalSize::new(100, 30).unwrap())
        .await
        .unwrap();
    term.input.write_all(b"stty size\n").await.unwrap();
    read_until(&mut term.output, &mut seen, "30 100").await;
    // No capability, no_new_privs: a setuid binary gives the session nothing either.
    term.input
        .write_all(b"grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -d ' \\t' | tr '\\n' ,; echo \"$((1+1))\"\n")
        .await
        .unwrap();
    read_until(&mut term.output, &mut seen, ",2\r\n").await;
    assert!(
        seen.contains("CapEff:0000000000000000,NoNewPrivs:1,2"),
        "{seen:?}"
    );
    term.input.write_all(b"exit 3\n").await.unwrap();
    read_to_end(&mut term.output, &mut seen).await;
    assert_eq!(
        term.control.end().await.unwrap(),
        SessionEnd::Exited { code: 3 }
    );

    // A hang-up ends a session (and what runs in it) as a closed terminal would.
    let mut term = f.exec().terminal(&id, &request).await.unwrap();
    let mut seen = String::new();
    term.input
        .write_all(b"sleep 299 & echo \"started $((6*7))\"\n")
        .await
        .unwrap();
    read_until(&mut term.output, &mut seen, "started 42").await;
    term.control.hang_up().await.unwrap();
    read_to_end(&mut term.output, &mut seen).await;
    assert_eq!(
        term.control.end().await.unwrap(),
        SessionEnd::Exited { code: 129 },
        "ended by SIGHUP"
    );
    let running = ExecRequest {
        argv: [
            "sh",
            "-c",
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done",
        ]
        .map(String::from)
        .to_vec(),
        uid: t.user.uid,
        gid: t.user.gid,
        env: Vec::new(),
        timeout: Duration::from_secs(30),
    };
    if f.exec().capabilities().exec {
        let ps = f.exec().exec(&id, &running).await.unwrap();
        let ps = String::from_utf8_lossy(&ps.stdout);
        assert!(
            !ps.contains("sleep 299"),
            "what the session ran ended: {ps}"
        );
        assert!(
            ps.contains("sleep 300"),
            "the job's own processes did not: {ps}"
        );
    }
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );

    // A paused job's session cannot be hung up: said, not skipped silently.
    if f.exec().capabilities().pause {
        let mut term = f.exec().terminal(&id, &request).await.unwrap();
        let mut seen = String::new();
        term.input
            .write_all(b"echo \"up $((6*7))\"\n")
            .await
            .unwrap();
        read_until(&mut term.output, &mut seen, "up 42").await;
        f.exec().pause(&id).await.unwrap();
        let refused = term.control.hang_up().await;
        assert!(matches!(refused, Err(ExecError::Refused(_))), "{refused:?}");
        f.exec().unpause(&id).await.unwrap();
        term.control.hang_up().await.unwrap();
        read_to_end(&mut term.output, &mut seen).await;
    }

    let as_root = TerminalRequest {
        uid: 0,
        ..request.clone()
    };
    let refused = f.exec().terminal(&id, &as_root).await;
    assert!(
        matches!(refused, Err(ExecError::Refused(_))),
        "never as root: {refused:?}"
    );
    f.exec().kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(20)).await;
    let ended = f.exec().terminal(&id, &request).await;
    assert!(matches!(ended, Err(ExecError::Refused(_))), "{ended:?}");
}
